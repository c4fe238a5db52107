"""A customer's time zone: an IANA name (Europe/Paris) or blank for unknown, which means UTC.

The name is checked against Python's zone database (`zoneinfo`, with the `tzdata` package as its fallback
where the system has none), so a typo is refused where it is written (API, import, admin) instead of
silently scheduling messages in UTC.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError


@cache
def known_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows (read once: listing them walks the zone files)."""
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    """Model-field validator: blank, or an IANA zone name exactly as the database spells it."""
    if value and value not in known_zones():
        raise ValidationError(
            f"{value!r} is not an IANA time zone name (e.g. Europe/Paris, America/New_York); leave it blank "
            "when unknown",
            code="invalid_time_zone",
        )


def zone(name: str | None) -> tzinfo:
    """The zone to read and schedule a customer's hours in: theirs when known and valid, else UTC."""
    if name and name in known_zones():
        return ZoneInfo(name)
    return UTC
