"""An event's value is money received: negative values and absurd ones are refused on every way in (API,
bulk, import), so profile and prediction sums stay meaningful (issue 13: a negative value was accepted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from customers.models import Event
from ingest.importing import run_import
from ingest.options import build_options
from tests.catalog.builders import product
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


@pytest.fixture
def row() -> dict[str, Any]:
    customer(external_id="c1")
    item = product(sku="S1")
    return {"customer": "c1", "product": item.sku, "type": "purchase", "occurred_at": "2025-05-01T10:00:00Z"}


def test_a_negative_value_is_refused(manager_client: Any, row: dict[str, Any]) -> None:
    response = manager_client.post(EVENTS, {**row, "value": "-5.00"}, format="json")
    assert response.status_code == 400 and "0 or more" in response.json()["value"][0]
    response = manager_client.post(f"{EVENTS}bulk/", [{**row, "value": "-1"}], format="json")
    assert response.status_code == 400 or response.json().get("rejected")
    assert not Event.objects.exists()


def test_a_value_above_the_maximum_is_refused(manager_client: Any, row: dict[str, Any], settings: Any) -> None:
    settings.EVENT_MAX_VALUE = 1000
    response = manager_client.post(EVENTS, {**row, "value": "1000.01"}, format="json")
    assert response.status_code == 400 and "at most 1000" in response.json()["value"][0]
    response = manager_client.post(EVENTS, {**row, "unit_price": "600", "quantity": 2}, format="json")
    assert response.status_code == 400 and "unit_price x quantity" in response.json()["unit_price"][0]
    assert manager_client.post(EVENTS, {**row, "value": "1000"}, format="json").status_code == 201


def test_an_imported_negative_value_is_rejected_with_its_line(tmp_path: Path, row: dict[str, Any]) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "customer,product,type,occurred_at,value\n"
        "c1,S1,purchase,2025-05-01T10:00:00Z,-3\n"
        "c1,S1,purchase,2025-05-02T10:00:00Z,3\n"
    )
    report = run_import(path, build_options("events"))
    assert report.created == 1
    assert [(e.index, e.field) for e in report.errors] == [(2, "value")]
