"""Property-based tests (Hypothesis) of the bulk endpoints with hostile rows: wrong types, huge strings, NUL
bytes, lone surrogates, formula-injection cells, implausible dates and numbers, unknown fields. Whatever
is sent, the answer is a 200 or a 400 (never a 500), each row is written or rejected with a reason naming
its index and field, and the table grows by exactly the rows reported created (no half-write). A body
with a repeated key in an object is refused whole, naming the key.

Deterministic (derandomized) and bounded: EXAMPLES examples a test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models import Model
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from catalog.models import Product
from customers.models import Customer, Event
from tests.catalog.builders import product
from tests.customers.builders import customer
from tests.hostile import FORMULAS, bounded, hostile_rows

pytestmark = pytest.mark.django_db

EXAMPLES = 40
BOUNDED = bounded(EXAMPLES)

KEYS = st.sampled_from(["K-1", "K-2", "K-3", " K-1 ", "k-1"])
PRODUCT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "sku": KEYS, "title": st.sampled_from(["Mug", *FORMULAS]), "price": st.sampled_from(["9.50", 3, "-1"]),
    "currency": st.sampled_from(["EUR", "usd"]), "in_stock": st.booleans(), "attributes": st.just({"a": 1}),
}
EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "external_id": KEYS, "customer": st.sampled_from(["ann", "nobody-here"]), "product": st.sampled_from(["MUG"]),
    "type": st.sampled_from(["view", "purchase", "search"]), "quantity": st.integers(-2, 3),
    "value": st.sampled_from(["5.00", "-3"]), "occurred_at": st.sampled_from(["2025-01-02T10:00:00Z"]),
    "query": st.just("mug"),
}
CUSTOMER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "external_id": KEYS, "email": st.sampled_from(["a@example.com", "not-an-email"]),
    "name": st.sampled_from(["Ann", *FORMULAS]), "marketing_consent": st.booleans(),
}


def post_raw(client: APIClient, url: str, body: str) -> Any:
    """Posts `body` as it is: `json.dumps` escapes lone surrogates, which the test client's renderer cannot."""
    return client.post(url, data=body.encode(), content_type="application/json")


def check_bulk_answer(model: type[Model], before: int, rows: list[dict[str, Any]], response: Any) -> dict[str, Any]:
    """The properties every bulk answer keeps, whatever was sent."""
    assert response.status_code in (200, 400), response.content[:300]
    report = response.json()
    after = model._default_manager.count()
    if set(report) == {"detail"}:  # refused whole by the parser (a lone surrogate, NaN): nothing written
        assert response.status_code == 400 and after == before
        return report
    assert after == before + report["created"]  # exactly the rows reported created, no half-write
    indexes = {error["index"] for error in report["errors"]}
    assert report["rejected"] == len(indexes)
    assert indexes <= set(range(len(rows)))
    assert all(error["field"] and error["message"] for error in report["errors"])
    assert report["created"] + report["updated"] + report["rejected"] <= len(rows)  # the rest merged (same key)
    if response.status_code == 400:
        assert report["rejected"] == len(rows) and after == before
    return report


@BOUNDED
@given(rows=hostile_rows(PRODUCT_FIELDS))
def test_hostile_product_rows(manager_client: APIClient, rows: list[dict[str, Any]]) -> None:
    before = Product.objects.count()
    response = post_raw(manager_client, "/api/v1/products/bulk/", json.dumps(rows))
    check_bulk_answer(Product, before, rows, response)


@BOUNDED
@given(rows=hostile_rows(EVENT_FIELDS), create_missing=st.booleans())
def test_hostile_event_rows(manager_client: APIClient, rows: list[dict[str, Any]], create_missing: bool) -> None:
    if not Customer.objects.filter(external_id="ann").exists():
        customer(external_id="ann")
        product(sku="MUG")
    before, customers_before = Event.objects.count(), Customer.objects.count()
    url = "/api/v1/events/bulk/" + ("?create_missing=1" if create_missing else "")
    response = post_raw(manager_client, url, json.dumps(rows))
    report = check_bulk_answer(Event, before, rows, response)
    if not create_missing or "created" not in report or not report["created"]:
        assert Customer.objects.count() == customers_before  # no stand-in customer left behind


@BOUNDED
@given(rows=hostile_rows(CUSTOMER_FIELDS))
def test_hostile_customer_rows(manager_client: APIClient, rows: list[dict[str, Any]]) -> None:
    before = Customer.objects.count()
    response = post_raw(manager_client, "/api/v1/customers/bulk/", json.dumps(rows))
    check_bulk_answer(Customer, before, rows, response)


def test_formula_cells_are_stored_as_text_never_evaluated(manager_client: APIClient) -> None:
    rows = [{"sku": f"F-{i}", "title": formula} for i, formula in enumerate(FORMULAS)]
    report = post_raw(manager_client, "/api/v1/products/bulk/", json.dumps(rows)).json()
    assert report["created"] == len(FORMULAS)
    stored = dict(Product.objects.filter(sku__startswith="F-").values_list("sku", "title"))
    # stored as sent (spaces around a title are trimmed, as for any text): data, not a formula
    assert stored == {f"F-{i}": formula.strip() for i, formula in enumerate(FORMULAS)}


@pytest.mark.parametrize(
    "body",
    [
        '[{"sku": "D-1", "title": "Mug", "title": "Teapot"}]',
        '{"rows": [{"sku": "D-1", "title": "Mug"}], "rows": []}',
        '[{"sku": "D-1", "title": "Mug", "attributes": {"a": 1, "a": 2}}]',
    ],
)
def test_a_repeated_key_is_refused_whole_naming_it(manager_client: APIClient, body: str) -> None:
    response = post_raw(manager_client, "/api/v1/products/bulk/", body)
    assert response.status_code == 400
    assert "duplicate key" in response.json()["detail"]
    assert not Product.objects.filter(sku="D-1").exists()


def test_nul_in_a_reference_is_a_row_error_not_a_500(manager_client: APIClient) -> None:
    """A NUL in a SKU a review names was sent to PostgreSQL in the lookup and failed the request (500)."""
    rows = [{"external_id": "r-1", "product": "MUG\x00", "rating": 5, "text": "Fine."}]
    response = post_raw(manager_client, "/api/v1/reviews/bulk/", json.dumps(rows))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "product", "message": "must not contain the NUL character (\\u0000)"}
    ]
