"""One reading of "now" for every job parameter and command option."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.moments import parse_now


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        (" 2024-03-01 ", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01T12:00:00Z", datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("2024-03-01T12:00:00+00:00", datetime(2024, 3, 1, 12, tzinfo=UTC)),
        ("2024-03-01 12:30", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),  # no zone: UTC
        ("2024-03-01T12:00:00+02:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01T12:00:00+0200", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (date(2024, 3, 1), datetime(2024, 3, 1, tzinfo=UTC)),
        (datetime(2024, 3, 1, 8), datetime(2024, 3, 1, 8, tzinfo=UTC)),
    ],
)
def test_accepted_forms(value: str | date | datetime | None, expected: datetime | None) -> None:
    assert parse_now(value) == expected
    if expected is not None:
        assert parse_now(value).tzinfo is not None  # type: ignore[union-attr]


def test_a_zone_is_kept() -> None:
    zone = timezone(timedelta(hours=-5))
    moment = datetime(2024, 3, 1, 8, tzinfo=zone)
    assert parse_now(moment) is moment
    assert parse_now("2024-03-01T08:00:00-05:00") == moment


@pytest.mark.parametrize("value", ["yesterday", "", "2024-13-01", "2024-02-30", "01/03/2024", "2024-03-01T25:00", 5])
def test_other_values_are_refused_naming_the_value_and_the_forms(value: object) -> None:
    with pytest.raises(ValueError) as raised:
        parse_now(value)  # type: ignore[arg-type]
    message = str(raised.value)
    assert message.startswith(f"now={value!r} is not a date (YYYY-MM-DD")
    assert "ISO 8601 date-time" in message
