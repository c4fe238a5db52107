"""Send time on the customer's own clock: the time zone is validated where it is written (API, import, admin),
engagement hours are counted in it, an hour turns back into the right UTC moment across daylight-saving
changes, and the admin's customer page shows the preferred hour with its evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.urls import reverse

from customers import send_time
from customers.models import Customer, EventType
from customers.send_time import HOURS, next_send_time
from ingest.importing import run_import
from ingest.options import build_options
from tests.customers.builders import customer, event

PARIS = ZoneInfo("Europe/Paris")


def test_next_send_time_is_the_next_local_hour_within_a_day() -> None:
    winter = datetime(2026, 1, 15, 9, 10, tzinfo=UTC)  # 10:10 in Paris (CET, UTC+1)
    assert next_send_time(winter, 20, PARIS) == datetime(2026, 1, 15, 19, 0, tzinfo=UTC)
    assert next_send_time(winter, 9, PARIS) == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)  # tomorrow, 22h50 on
    assert next_send_time(winter, 10, PARIS) == winter  # the hour is under way: at once
    summer = datetime(2026, 7, 15, 9, 10, tzinfo=UTC)  # CEST, UTC+2
    assert next_send_time(summer, 20, PARIS) == datetime(2026, 7, 15, 18, 0, tzinfo=UTC)
    assert next_send_time(summer, 20, UTC) == datetime(2026, 7, 15, 20, 0, tzinfo=UTC)
    # 29 March 2026: Paris skips 02:00-03:00; the skipped hour is served when the clock jumps (01:00 UTC)
    before_jump = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert next_send_time(before_jump, 2, PARIS) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    for start in (winter, summer, before_jump):
        for hour in range(HOURS):
            moment = next_send_time(start, hour, PARIS)
            assert start <= moment < start + timedelta(hours=24)


@pytest.mark.django_db
def test_hours_are_counted_on_the_customers_clock() -> None:
    paris, unknown = customer(timezone="Europe/Paris"), customer()
    for day in range(3):  # 19:30 UTC in January is 20:30 in Paris
        at = datetime(2026, 1, 10 + day, 19, 30, tzinfo=UTC)
        event(paris, EventType.OPEN, occurred_at=at)
        event(unknown, EventType.OPEN, occurred_at=at)
    counts = send_time.hour_counts()
    assert counts[paris.pk][20] == 3 and counts[paris.pk].sum() == 3
    assert counts[unknown.pk][19] == 3 and counts[unknown.pk].sum() == 3


@pytest.mark.django_db
def test_a_bad_time_zone_is_refused_by_the_api_naming_the_field(manager_client: Any) -> None:
    response = manager_client.post(
        "/api/v1/customers/", {"external_id": "tz-1", "timezone": "Europe/Pariss"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "timezone" in response.json() and "Europe/Pariss" in str(response.json()["timezone"])
    assert not Customer.objects.filter(external_id="tz-1").exists()
    response = manager_client.post(
        "/api/v1/customers/", {"external_id": "tz-1", "timezone": "America/New_York"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Customer.objects.get(external_id="tz-1").timezone == "America/New_York"


@pytest.mark.django_db
def test_a_bad_time_zone_is_a_row_error_of_the_import(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("external_id,email,timezone\nc-1,a@example.com,Asia/Tokyo\nc-2,b@example.com,Mars/Olympus\n")
    report = run_import(path, build_options("customers"))
    assert report.created == 1
    assert [(e.index, e.field) for e in report.errors] == [(3, "timezone")]  # line 3 of the file
    assert "Mars/Olympus" in report.errors[0].message
    assert Customer.objects.get(external_id="c-1").timezone == "Asia/Tokyo"
    assert not Customer.objects.filter(external_id="c-2").exists()


@pytest.mark.django_db
def test_preferred_hour_with_its_evidence_and_on_the_admin_page(manager_web: Any) -> None:
    fan = customer(timezone="Europe/Paris")
    for day in range(12):
        event(fan, EventType.OPEN, occurred_at=datetime(2026, 1, 1 + day, 19, 5, tzinfo=UTC))  # 20:05 in Paris
    newcomer = customer()
    hour = send_time.preferred_hour(fan)
    assert (hour.hour, hour.zone, hour.engagements, hour.from_shop_curve) == (20, "Europe/Paris", 12, False)
    assert hour.utc_hour(datetime(2026, 1, 20, tzinfo=UTC)) == 19
    assert hour.utc_hour(datetime(2026, 7, 20, tzinfo=UTC)) == 18
    assert 0.3 < hour.probability <= 1
    fresh = send_time.preferred_hour(newcomer)
    assert (fresh.hour, fresh.zone, fresh.engagements, fresh.from_shop_curve) == (20, "UTC", 0, True)
    page = manager_web.get(reverse("admin:customers_customer_change", args=[fan.pk])).content.decode()
    assert "20:00 Europe/Paris" in page and "from 12 engagements" in page
    assert f"{hour.probability:.0%}" in page
    page = manager_web.get(reverse("admin:customers_customer_change", args=[newcomer.pk])).content.decode()
    assert "20:00 UTC" in page and "no engagement yet" in page


def test_thompson_hours_for_a_strong_history_stay_put() -> None:
    prior = send_time.Prior(np.full(HOURS, 1 / HOURS), 24.0)
    counts = np.zeros(HOURS)
    counts[20] = 40
    rng = np.random.default_rng(0)
    assert {send_time.thompson_hour(send_time.posterior(counts, prior), rng) for _ in range(200)} == {20}
