"""Filter fields shared by the API's list endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, converted to UTC before it reaches the database.

    Python accepts UTC offsets up to 23:59 but PostgreSQL only up to 15:59, so
    `created_before=2026-01-01T00:00:00+23:30` was a 500; converted first it is an ordinary moment, and one
    that leaves the calendar once converted (`0001-01-01T00:00:00+01:00`) is a 400 naming the value.
    """

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC) if moment.tzinfo is not None else moment
        except OverflowError:
            raise ValidationError(
                f"{value!r} is outside the calendar once converted to UTC", code="invalid"
            ) from None


class MomentFilter(IsoDateTimeFilter):
    """`IsoDateTimeFilter` reading its value as a UTC moment (see `UtcIsoDateTimeField`)."""

    field_class = UtcIsoDateTimeField
