"""The moment a computation treats as "now", read from a job parameter or a command option.

Jobs and commands may be told to act as of another time (demo data, replays, an imported history from
2010); one parser gives every one of them the same accepted forms and the same error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

ACCEPTED = "a date (YYYY-MM-DD, midnight UTC) or an ISO 8601 date-time (without a zone it is UTC)"


def parse_now(value: str | date | datetime | None) -> datetime | None:
    """An aware datetime, or None (the caller's default) for None.

    A date means midnight UTC at its start; a date-time without a zone is taken as UTC. Anything else
    raises ValueError naming the value and the accepted forms.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, dtime.min, tzinfo=UTC)
    if value is None:
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), dtime.min, tzinfo=UTC)
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"now={value!r} is not {ACCEPTED}, e.g. 2025-03-01 or 2025-03-01T09:30:00Z")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


FUTURE_SLACK = timedelta(days=1)  # clocks and time zones of the shop's systems differ; a day covers them


def check_plausible(moment: datetime) -> datetime:
    """`moment` unless it lies more than a day in the future or before EARLIEST_DATE.

    An event on 9999-12-31 or a review moved to the year 2500 was stored, and every later profile update
    failed (`DataError: value out of range`, `OverflowError` in the decay); every way in (API, bulk, import)
    validates through the serializers that call this.
    """
    earliest = datetime.combine(settings.EARLIEST_DATE, dtime.min, tzinfo=UTC)
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if aware > timezone.now() + FUTURE_SLACK:
        raise ValidationError(f"{moment.isoformat()} is more than a day in the future")
    if aware < earliest:
        raise ValidationError(
            f"{moment.isoformat()} is before {settings.EARLIEST_DATE.isoformat()}, "
            "the earliest date accepted (EARLIEST_DATE)"
        )
    return moment
