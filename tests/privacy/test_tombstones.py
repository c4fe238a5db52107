"""The tombstone of an erased customer: their external id and email are refused, with the field and the reason,
by a single create, a bulk call (customers, and events that would create the customer), an import, and an
edit of the anonymised row."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from customers.models import Customer, Event
from customers.tombstones import ErasedCheck, digests
from privacy.erasure import erase_customer
from tests.catalog.builders import product
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_dirs(settings: Any, tmp_path: Path) -> None:
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.CAMPAIGN_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def erased() -> Customer:
    """Ann, erased: her id was "ann-1" and her address Ann@Example.com."""
    ann = customer(external_id="ann-1", email="Ann@Example.com", name="Ann Erased")
    erase_customer(ann.pk)
    ann.refresh_from_db()
    return ann


def test_single_create_is_refused_by_id_and_by_email(erased: Customer, manager_client: APIClient) -> None:
    response = manager_client.post("/api/v1/customers/", {"external_id": "ann-1"}, format="json")
    assert response.status_code == 400
    assert response.json()["external_id"][0].startswith("erased customer: ")

    response = manager_client.post(
        "/api/v1/customers/", {"external_id": "ann-2", "email": "  ann@EXAMPLE.com "}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["email"][0].startswith("erased customer: ")
    assert not Customer.objects.filter(external_id__in=["ann-1", "ann-2"]).exists()


def test_the_anonymised_row_takes_no_new_data(erased: Customer, manager_client: APIClient) -> None:
    response = manager_client.patch(f"/api/v1/customers/{erased.pk}/", {"email": "new@example.com"}, format="json")
    assert response.status_code == 400 and "erased customer" in response.json()["external_id"][0]
    response = manager_client.post(
        "/api/v1/customers/bulk/", [{"external_id": erased.external_id, "name": "Back"}], format="json"
    )
    assert response.json()["errors"][0]["field"] == "external_id"
    erased.refresh_from_db()
    assert (erased.email, erased.name) == ("", "")


def test_bulk_refuses_the_rows_of_erased_people_only(erased: Customer, manager_client: APIClient) -> None:
    rows = [
        {"external_id": "bob-1", "email": "bob@example.com"},
        {"external_id": "ann-1", "email": "other@example.com"},
        {"external_id": "ann-new", "email": "ann@example.com"},
    ]
    response = manager_client.post("/api/v1/customers/bulk/", rows, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["rejected"]) == (1, 2)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "external_id"), (2, "email")]
    assert all(e["message"].startswith("erased customer: ") for e in body["errors"])
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"bob-1", erased.external_id}


def test_events_do_not_create_the_erased_customer_again(erased: Customer, manager_client: APIClient) -> None:
    item = product()
    rows = [{"customer": "ann-1", "type": "view", "product": item.sku, "occurred_at": "2025-05-01T10:00:00Z"}]
    response = manager_client.post("/api/v1/events/bulk/?create_missing=true", rows, format="json")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "customer" and error["message"].startswith("erased customer: ")
    rows[0]["customer"] = erased.external_id  # the pseudonym: the anonymised row takes no events either
    assert manager_client.post("/api/v1/events/bulk/", rows, format="json").status_code == 400
    assert not Customer.objects.filter(external_id="ann-1").exists()
    assert not Event.objects.filter(type="view").exists()


def test_import_refuses_the_erased_customer_with_line_field_and_reason(erased: Customer, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("external_id,email,name\nbob-1,bob@example.com,Bob\nann-1,,Ann\nann-9,ANN@example.com,Ann\n")
    out = StringIO()
    call_command("import_data", "customers", str(path), "--no-progress", stdout=out)
    output = out.getvalue()
    assert "created 1, updated 0, rejected 2" in output, output
    assert "line 3, field external_id: erased customer: " in output
    assert "line 4, field email: erased customer: " in output
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"bob-1", erased.external_id}


def test_digests_are_keyed_and_survive_a_key_rotation(erased: Customer, settings: Any) -> None:
    old = digests("ann-1")[0]
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-key-" + "x" * 50, [settings.SECRET_KEY]
    assert digests("ann-1")[0] != old
    assert ErasedCheck().problems(external_id="ann-1", email="ann@example.com").keys() == {"external_id", "email"}
    assert ErasedCheck().problems(external_id="ann-2", email="bob@example.com") == {}


def test_the_assistant_starts_no_conversation_for_the_anonymised_row(
    erased: Customer, manager_client: APIClient
) -> None:
    response = manager_client.post("/api/v1/assistant/conversations/", {"customer": erased.external_id}, format="json")
    assert response.status_code == 400 and "customer" in response.json()
