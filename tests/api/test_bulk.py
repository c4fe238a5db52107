"""Bulk upsert semantics beyond the generic mixin: per-row errors, last-wins duplicates, partial rows,
limits, create_missing, database-level refusals, and a 3,000-row request."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import Product, Review
from customers.models import Customer, Event
from tests.catalog.builders import product, review
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/bulk/"
REVIEWS = "/api/v1/reviews/bulk/"
CUSTOMERS = "/api/v1/customers/bulk/"
EVENTS = "/api/v1/events/bulk/"


def post(client: APIClient, url: str, rows: Any, expect: int = 200) -> dict[str, Any]:
    response = client.post(url, rows, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def errors_by_index(report: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for error in report["errors"]:
        found.setdefault(error["index"], []).append((error["field"], error["message"]))
    return found


def test_mixed_rows_of_every_kind_of_fault(manager_client: APIClient) -> None:
    ann = customer(external_id="ann")
    product(sku="MUG")
    rows = [
        {"customer": "ann", "type": "view", "product": "MUG", "external_id": "ok-0"},
        {"customer": "ann", "type": "purchase", "product": "MUG", "quantity": "three", "external_id": "x-1"},
        {"customer": "ann", "type": "view", "product": "NO-SUCH-SKU", "external_id": "x-2"},
        {"customer": "ann", "external_id": "x-3"},  # missing required type
        {"customer": "ann", "type": "search", "external_id": "x-4"},  # a search needs its query
        {"customer": "ann", "type": "search", "query": "blue mug", "external_id": "ok-5"},
        {"customer": "ann", "type": "purchase", "product": "MUG", "quantity": 2, "unit_price": "7.25",
         "external_id": "ok-6"},
    ]
    report = post(manager_client, EVENTS, rows)
    assert (report["created"], report["updated"], report["rejected"]) == (3, 0, 4)
    errors = errors_by_index(report)
    assert sorted(errors) == [1, 2, 3, 4]
    assert errors[1][0][0] == "quantity"
    assert errors[2] == [("product", "Object with sku=NO-SUCH-SKU does not exist.")]
    assert errors[3] == [("type", "This field is required.")]
    assert errors[4] == [("query", "a search event needs the query text")]
    stored = {e.external_id: e for e in Event.objects.filter(customer=ann)}
    assert sorted(stored) == ["ok-0", "ok-5", "ok-6"]
    assert stored["ok-6"].value == Decimal("14.50")  # unit_price x quantity
    assert stored["ok-5"].query == "blue mug"


def test_one_row_may_carry_several_errors_and_counts_once(manager_client: APIClient) -> None:
    rows = [{"sku": "", "price": "-3"}, {"sku": "OK", "title": "Fine"}]
    report = post(manager_client, PRODUCTS, rows)
    assert report["rejected"] == 1
    assert {field for field, _ in errors_by_index(report)[0]} == {"sku", "title", "price"}
    assert report["created"] == 1


def test_duplicate_keys_in_one_request_last_row_wins(manager_client: APIClient) -> None:
    rows = [
        {"sku": "DUP", "title": "first", "price": "1.00"},
        {"sku": "OTHER", "title": "other"},
        {"sku": "DUP", "title": "second", "price": "2.00"},
    ]
    report = post(manager_client, PRODUCTS, rows)
    assert (report["created"], report["updated"], report["rejected"]) == (2, 0, 0)
    dup = Product.objects.get(sku="DUP")
    assert (dup.title, dup.price) == ("second", Decimal("2.00"))


def test_resending_updates_and_partial_rows_keep_other_fields(manager_client: APIClient) -> None:
    full = {
        "sku": "P-1", "title": "Mug", "description": "Stoneware", "category": "Home > Kitchen", "brand": "Acme",
        "price": "12.00", "currency": "EUR", "in_stock": True, "attributes": {"colour": "blue"},
    }
    assert post(manager_client, PRODUCTS, [full])["created"] == 1
    before = Product.objects.get(sku="P-1")

    report = post(manager_client, PRODUCTS, [{"sku": "P-1", "title": "Big mug", "in_stock": False}])
    assert (report["created"], report["updated"]) == (0, 1)
    after = Product.objects.get(sku="P-1")
    assert (after.title, after.in_stock) == ("Big mug", False)
    # everything the row did not send is as it was
    for name in ("description", "category", "brand", "price", "currency", "attributes", "created_at", "pk"):
        assert getattr(after, name) == getattr(before, name), name
    assert after.updated_at > before.updated_at


def test_partial_review_rows_keep_language_source_and_customer(manager_client: APIClient) -> None:
    written = review(customer=customer(), language="de", source="trustpilot", title="Good", text="Gut")
    row = {"external_id": written.external_id, "product": written.product.sku, "rating": 1, "text": "Zerbrochen"}
    report = post(manager_client, REVIEWS, [row])
    assert (report["created"], report["updated"]) == (0, 1)
    stored = Review.objects.get(pk=written.pk)
    assert (stored.rating, stored.text) == (1, "Zerbrochen")
    assert (stored.language, stored.source, stored.title) == ("de", "trustpilot", "Good")
    assert stored.customer_id is not None and stored.customer_id == written.customer_id


def test_all_bad_is_400_and_nothing_is_written(manager_client: APIClient) -> None:
    product(sku="KEEP", title="Kept")
    rows = [{"sku": "KEEP", "title": ""}, {"sku": "NEW", "price": "free"}]
    report = post(manager_client, PRODUCTS, rows, expect=400)
    assert (report["created"], report["updated"], report["rejected"]) == (0, 0, 2)
    assert list(Product.objects.values_list("sku", "title")) == [("KEEP", "Kept")]


def test_an_empty_list_is_a_harmless_200(manager_client: APIClient) -> None:
    report = post(manager_client, PRODUCTS, [])
    assert (report["created"], report["updated"], report["rejected"], report["errors"]) == (0, 0, 0, [])


def test_row_limit(manager_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.viewsets.BULK_MAX_ROWS", 3)
    rows = [{"sku": f"L-{i}", "title": "t"} for i in range(4)]
    response = manager_client.post(PRODUCTS, rows, format="json")
    assert response.status_code == 400
    assert "at most 3 rows" in str(response.json()["rows"])
    assert not Product.objects.exists()
    assert post(manager_client, PRODUCTS, rows[:3])["created"] == 3


def test_error_list_is_capped_and_says_so(manager_client: APIClient) -> None:
    rows = [{"sku": f"E-{i}"} for i in range(1001)]  # each lacks a title
    report = post(manager_client, PRODUCTS, rows, expect=400)
    assert report["rejected"] == 1001
    assert len(report["errors"]) == 1000
    assert report["errors_truncated"] is True


def test_events_create_missing_customers_only_when_asked(manager_client: APIClient) -> None:
    rows = [{"customer": "new-1", "type": "click", "external_id": "c-1"},
            {"customer": "new-2", "type": "open", "external_id": "c-2"},
            {"customer": "new-2", "type": "open", "external_id": "c-3"}]
    report = post(manager_client, EVENTS, rows, expect=400)
    assert {e["field"] for e in report["errors"]} == {"customer"}
    assert not Customer.objects.exists() and not Event.objects.exists()

    report = post(manager_client, f"{EVENTS}?create_missing=true", rows)
    assert (report["created"], report["rejected"]) == (3, 0)
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["new-1", "new-2"]
    assert Event.objects.filter(customer__external_id="new-2").count() == 2


def test_create_missing_is_ignored_where_not_offered(manager_client: APIClient) -> None:
    product(sku="MUG")
    row = {"external_id": "r-1", "product": "MUG", "customer": "ghost", "text": "hi"}
    report = post(manager_client, f"{REVIEWS}?create_missing=true", [row], expect=400)
    assert report["errors"][0]["field"] == "customer"
    assert not Customer.objects.exists()


def test_create_missing_does_not_leave_customers_of_rejected_rows(manager_client: APIClient) -> None:
    rows = [
        {"customer": "kept", "type": "click", "external_id": "ok"},
        {"customer": "ghost", "type": "search", "external_id": "bad"},  # rejected: no query
    ]
    report = post(manager_client, f"{EVENTS}?create_missing=1", rows)
    assert (report["created"], report["rejected"]) == (1, 1)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["kept"]

    report = post(manager_client, f"{EVENTS}?create_missing=1", [rows[1]], expect=400)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["kept"]


def test_create_missing_rejects_a_customer_id_too_long_to_store(manager_client: APIClient) -> None:
    rows = [{"customer": "x" * 65, "type": "click"}, {"customer": "fine", "type": "click"}]
    report = post(manager_client, f"{EVENTS}?create_missing=true", rows)  # was a 500 (value too long)
    assert (report["created"], report["rejected"]) == (1, 1)
    assert report["errors"][0]["field"] == "customer"
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["fine"]


def test_events_without_an_id_get_a_content_id_so_resending_updates(manager_client: APIClient) -> None:
    customer(external_id="ann")
    rows = [{"customer": "ann", "type": "open", "occurred_at": "2025-03-01T10:00:00Z"},
            {"customer": "ann", "type": "click", "occurred_at": "2025-03-01T10:01:00Z"}]
    assert post(manager_client, EVENTS, rows)["created"] == 2
    report = post(manager_client, EVENTS, rows)
    assert (report["created"], report["updated"]) == (0, 2)
    assert Event.objects.count() == 2
    assert all(eid.startswith("sha256:") for eid in Event.objects.values_list("external_id", flat=True))


def test_a_row_the_database_refuses_is_rejected_alone(manager_client: APIClient) -> None:
    """A value that passes the serializer but breaks a database constraint: the batch insert fails, the
    rows are retried one by one, and only the offending row is reported (with the database's reason).
    The constraint is added inside the test's transaction, so it vanishes with the rollback."""
    product(sku="OLD", title="Old title")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE catalog_product ADD CONSTRAINT test_title_allowed CHECK (title <> 'FORBIDDEN')")
    rows = [
        {"sku": "A", "title": "Fine"},
        {"sku": "B", "title": "FORBIDDEN"},  # new row refused
        {"sku": "OLD", "title": "FORBIDDEN"},  # update refused: the stored row is untouched
        {"sku": "C", "title": "Also fine"},
        {"sku": "D", "title": "Bad", "price": "x"},  # refused by the serializer as usual
    ]
    report = post(manager_client, PRODUCTS, rows)
    assert (report["created"], report["updated"], report["rejected"]) == (2, 0, 3), report
    errors = errors_by_index(report)
    assert sorted(errors) == [1, 2, 4]
    for index in (1, 2):
        [(field, message)] = errors[index]
        assert field == "non_field_errors"
        assert message.startswith("rejected by the database:") and "test_title_allowed" in message
    assert sorted(Product.objects.values_list("sku", "title")) == [
        ("A", "Fine"), ("C", "Also fine"), ("OLD", "Old title"),
    ]


def test_customers_bulk_reports_fields(manager_client: APIClient) -> None:
    rows = [{"external_id": "c-1", "email": "one@example.com"}, {"external_id": "c-2", "email": "broken"}]
    report = post(manager_client, CUSTOMERS, rows)
    assert report["errors"] == [{"index": 1, "field": "email", "message": "Enter a valid email address."}]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["c-1"]


def test_three_thousand_products_in_one_request(manager_client: APIClient, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {
            "sku": f"BULK-{i:05d}",
            "title": f"Product {i}",
            "description": "A sturdy thing for everyday use.",
            "category": f"Home > Aisle {i % 17}",
            "brand": f"Brand {i % 23}",
            "price": f"{(i % 500) + 0.99:.2f}",
            "in_stock": i % 3 != 0,
            "attributes": {"n": i},
        }
        for i in range(3000)
    ]
    rows[1234]["price"] = "-1"  # one bad row among them
    started = time.perf_counter()
    report = post(manager_client, PRODUCTS, rows)
    created_s = time.perf_counter() - started
    assert (report["created"], report["updated"], report["rejected"]) == (2999, 0, 1)
    assert report["errors"][0]["index"] == 1234
    assert Product.objects.count() == 2999

    started = time.perf_counter()
    report = post(manager_client, PRODUCTS, rows)
    updated_s = time.perf_counter() - started
    assert (report["created"], report["updated"], report["rejected"]) == (0, 2999, 1)
    with capsys.disabled():
        print(f"\n3000-row product bulk: insert {created_s:.2f} s, update {updated_s:.2f} s")
    assert created_s < 30 and updated_s < 30  # generous: catches a per-row query, not a slow machine
