"""Dates from the future or before EARLIEST_DATE are refused on every way in (API, bulk, import), with the row,
the field and the reason, and the rows beside them are stored as usual (issue 13: an event on 9999-12-31 or
a review in the year 2500 was stored, and every later profile update failed)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from assistant.models import ProductQuestion
from catalog.models import Review
from core.env import env_date
from customers.models import Event
from tests.catalog.builders import product
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db

FAR_FUTURE = "9999-12-31T00:00:00Z"
YEAR_2500 = "2500-01-01T00:00:00Z"
YEAR_ONE = "0001-01-01T00:00:00Z"


@pytest.mark.parametrize("moment", [FAR_FUTURE, YEAR_ONE, "1989-12-31T23:00:00Z"])
def test_an_event_off_the_plausible_range_is_a_400_naming_the_field(manager_client: APIClient, moment: str) -> None:
    customer(external_id="ann")
    product(sku="MUG")
    row = {"customer": "ann", "type": "view", "product": "MUG", "occurred_at": moment}
    response = manager_client.post("/api/v1/events/", row, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"occurred_at"}
    message = response.json()["occurred_at"][0]
    assert "future" in message or "EARLIEST_DATE" in message
    assert not Event.objects.exists()


def test_tomorrow_is_accepted_and_the_day_after_is_not(manager_client: APIClient) -> None:
    customer(external_id="ann")
    product(sku="MUG")
    soon = (timezone.now() + timedelta(hours=20)).isoformat()
    later = (timezone.now() + timedelta(days=2)).isoformat()
    row = {"customer": "ann", "type": "view", "product": "MUG"}
    ok = manager_client.post("/api/v1/events/", {**row, "occurred_at": soon}, format="json")
    assert ok.status_code == 201, ok.content
    late = manager_client.post("/api/v1/events/", {**row, "occurred_at": later}, format="json")
    assert late.status_code == 400 and set(late.json()) == {"occurred_at"}


def test_bulk_rejects_the_bad_rows_by_index_and_field_and_stores_the_rest(manager_client: APIClient) -> None:
    product(sku="MUG")
    rows = [
        {"external_id": "r-ok", "product": "MUG", "rating": 5, "text": "Lovely mug."},
        {"external_id": "r-2500", "product": "MUG", "rating": 4, "text": "From the future.", "created_at": YEAR_2500},
    ]
    response = manager_client.post("/api/v1/reviews/bulk/", rows, format="json")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["created"] == 1 and report["rejected"] == 1
    [error] = report["errors"]
    assert (error["index"], error["field"]) == (1, "created_at") and "future" in error["message"]
    assert list(Review.objects.values_list("external_id", flat=True)) == ["r-ok"]


def test_import_names_the_line_of_a_question_dated_in_the_future(tmp_path: Path) -> None:
    product(sku="B01")
    path = tmp_path / "qa.csv"
    path.write_text(
        "asin,question,answer,created_at\n"
        "B01,Is it loud?,Quieter than most kettles.,2024-05-01T00:00:00Z\n"
        f"B01,Does it rust?,Not in three years of use.,{FAR_FUTURE}\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("import_data", "questions", str(path), "--map", "product=asin", "--no-progress", stdout=out)
    assert "line 3, field created_at:" in out.getvalue() and "future" in out.getvalue()
    assert list(ProductQuestion.objects.values_list("question", flat=True)) == ["Is it loud?"]


def test_earliest_date_setting_is_validated() -> None:
    assert env_date("EARLIEST_DATE", "1990-01-01", environ={}).isoformat() == "1990-01-01"
    assert env_date("EARLIEST_DATE", "1990-01-01", environ={"EARLIEST_DATE": "2005-06-01"}).year == 2005
    with pytest.raises(ImproperlyConfigured, match="EARLIEST_DATE='yesterday'"):
        env_date("EARLIEST_DATE", "1990-01-01", environ={"EARLIEST_DATE": "yesterday"})
