"""Filters, search, ordering and pagination of the list endpoints."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers.models import EventType
from jobs.models import JobStatus
from tests.campaigns.builders import campaign
from tests.catalog.builders import product, review
from tests.customers.builders import NOW, customer, event
from tests.jobs.builders import job

pytestmark = pytest.mark.django_db


def keys(client: APIClient, url: str, field: str = "sku") -> list[Any]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return [row[field] for row in response.json()["results"]]


@pytest.fixture
def catalog(db: None) -> None:
    product(sku="A", title="Blue mug", category="Home > Kitchen > Mugs", brand="Acme", price=Decimal("12.00"))
    product(sku="B", title="Teapot", category="Home > Kitchen", brand="acme", price=Decimal("30.00"),
                 in_stock=False)
    product(sku="C", title="Rake", category="Garden > Tools", brand="Acme Pro", price=Decimal("25.00"))
    product(sku="D", title="Home sign", category="Garden > Home decor", brand="Zed", price=None)


def test_products_by_category_prefix(analyst_client: APIClient, catalog: None) -> None:
    assert keys(analyst_client, "/api/v1/products/?category=Home") == ["A", "B"]
    assert keys(analyst_client, "/api/v1/products/?category=home > kitchen > m") == ["A"]
    assert keys(analyst_client, "/api/v1/products/?category=Garden") == ["C", "D"]


def test_products_by_brand_exact_any_case(analyst_client: APIClient, catalog: None) -> None:
    assert keys(analyst_client, "/api/v1/products/?brand=ACME") == ["A", "B"]
    assert keys(analyst_client, "/api/v1/products/?brand=Acme Pro") == ["C"]


def test_products_by_price_range_and_stock(analyst_client: APIClient, catalog: None) -> None:
    assert keys(analyst_client, "/api/v1/products/?min_price=12&max_price=25") == ["A", "C"]
    assert keys(analyst_client, "/api/v1/products/?min_price=26") == ["B"]
    assert keys(analyst_client, "/api/v1/products/?in_stock=false") == ["B"]
    assert keys(analyst_client, "/api/v1/products/?in_stock=true&category=Home") == ["A"]


def test_products_search_and_ordering(analyst_client: APIClient, catalog: None) -> None:
    assert keys(analyst_client, "/api/v1/products/?search=mug") == ["A"]
    assert keys(analyst_client, "/api/v1/products/?search=home") == ["A", "B", "D"]  # title or category
    assert keys(analyst_client, "/api/v1/products/?ordering=-price&min_price=0") == ["B", "C", "A"]


def test_bad_filter_values_are_400(analyst_client: APIClient, catalog: None) -> None:
    for query in ("min_price=cheap", "max_price=1e", "updated_since=yesterday"):
        response = analyst_client.get(f"/api/v1/products/?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in response.json()


def test_page_number_pagination(analyst_client: APIClient, catalog: None) -> None:
    body = analyst_client.get("/api/v1/products/?page_size=3").json()
    assert body["count"] == 4
    assert [row["sku"] for row in body["results"]] == ["A", "B", "C"]
    assert "page=2" in body["next"] and body["previous"] is None
    second = analyst_client.get(body["next"]).json()
    assert [row["sku"] for row in second["results"]] == ["D"] and second["next"] is None
    assert analyst_client.get("/api/v1/products/?page=9").status_code == 404


def test_reviews_by_product_sku_and_min_rating(analyst_client: APIClient) -> None:
    mug, pot = product(sku="MUG"), product(sku="POT")
    for rating in (1, 3, 4, 5):
        review(product=mug, rating=rating, external_id=f"mug-{rating}")
    review(product=pot, rating=5, external_id="pot-5")
    url = "/api/v1/reviews/"
    assert sorted(keys(analyst_client, f"{url}?product=MUG", "external_id")) == ["mug-1", "mug-3", "mug-4", "mug-5"]
    assert sorted(keys(analyst_client, f"{url}?product=MUG&min_rating=4", "external_id")) == ["mug-4", "mug-5"]
    assert sorted(keys(analyst_client, f"{url}?min_rating=5", "external_id")) == ["mug-5", "pot-5"]
    assert sorted(keys(analyst_client, f"{url}?max_rating=2", "external_id")) == ["mug-1"]
    assert keys(analyst_client, f"{url}?product=NOPE", "external_id") == []


@pytest.fixture
def events(db: None) -> dict[str, Any]:
    ann, bob = customer(external_id="ann"), customer(external_id="bob")
    mug = product(sku="MUG")
    made = {}
    for minute, (who, kind) in enumerate(
        [(ann, "view"), (ann, "search"), (bob, "view"), (ann, "purchase"), (bob, "click"), (ann, "open")]
    ):
        made[f"e{minute}"] = event(
            who, kind, external_id=f"e{minute}", occurred_at=NOW + timedelta(minutes=minute),
            product=mug if kind in ("view", "purchase") else None, query="mug" if kind == "search" else "",
        )
    return made


def test_events_by_customer_type_and_time(analyst_client: APIClient, events: dict[str, Any]) -> None:
    url = "/api/v1/events/"
    ids = lambda query: keys(analyst_client, f"{url}?{query}", "external_id")  # noqa: E731
    assert ids("customer=ann") == ["e5", "e3", "e1", "e0"]  # newest first
    assert ids("type=view") == ["e2", "e0"]
    assert ids("type=view&type=search") == ["e2", "e1", "e0"]
    assert ids("customer=ann&type=view&type=purchase") == ["e3", "e0"]
    after, before = (NOW + timedelta(minutes=1)).isoformat(), (NOW + timedelta(minutes=4)).isoformat()
    assert ids(f"occurred_after={after}&occurred_before={before}".replace("+", "%2B")) == ["e3", "e2", "e1"]
    assert ids("product=MUG") == ["e3", "e2", "e0"]
    assert ids("search=mug") == ["e1"]
    assert analyst_client.get(f"{url}?type=dance").status_code == 400


def walk(client: APIClient, url: str) -> list[str]:
    seen: list[str] = []
    next_url: str | None = url
    while next_url:
        body = client.get(next_url).json()
        assert "count" not in body  # a cursor never counts the table
        seen += [row["external_id"] for row in body["results"]]
        next_url = body["next"]
    return seen


def test_events_cursor_pagination_walks_newest_first(analyst_client: APIClient, events: dict[str, Any]) -> None:
    first = analyst_client.get("/api/v1/events/?page_size=4").json()
    assert "cursor=" in first["next"] and first["previous"] is None
    assert walk(analyst_client, "/api/v1/events/?page_size=4") == ["e5", "e4", "e3", "e2", "e1", "e0"]
    # an event recorded meanwhile does not shift the next page
    event(events["e0"].customer, EventType.OPEN, external_id="late", occurred_at=NOW + timedelta(hours=1))
    second = analyst_client.get(first["next"]).json()
    assert [row["external_id"] for row in second["results"]] == ["e1", "e0"]
    back = analyst_client.get(second["previous"]).json()
    assert [row["external_id"] for row in back["results"]] == ["e5", "e4", "e3", "e2"]


def test_events_cursor_pagination_with_tied_timestamps(analyst_client: APIClient) -> None:
    """One import or one order gives many events the same time: pages must neither repeat nor skip."""
    who = customer()
    for i in range(40):
        event(who, "open", external_id=f"t{i:02d}", occurred_at=NOW)
    seen = walk(analyst_client, "/api/v1/events/?page_size=7")
    assert len(seen) == 40 and len(set(seen)) == 40
    ascending = walk(analyst_client, "/api/v1/events/?page_size=7&ordering=occurred_at")
    assert sorted(ascending) == sorted(seen) and len(set(ascending)) == 40


def test_customers_campaigns_and_jobs_filters(analyst_client: APIClient) -> None:
    customer(external_id="c1", email="Ann@Example.com", marketing_consent=True)
    customer(external_id="c2", email="bob@example.com")
    assert keys(analyst_client, "/api/v1/customers/?email=ann@example.com", "external_id") == ["c1"]
    assert keys(analyst_client, "/api/v1/customers/?marketing_consent=true", "external_id") == ["c1"]
    assert keys(analyst_client, "/api/v1/customers/?search=bob", "external_id") == ["c2"]

    campaign(name="Draft one")
    campaign(name="Live one", status="running", channel="sms")
    assert keys(analyst_client, "/api/v1/campaigns/?status=running", "name") == ["Live one"]
    assert keys(analyst_client, "/api/v1/campaigns/?channel=email", "name") == ["Draft one"]

    job(kind="ping", status=JobStatus.FAILED)
    job(kind="ping_inference", status=JobStatus.SUCCEEDED)
    assert keys(analyst_client, "/api/v1/jobs/?status=failed", "kind") == ["ping"]
    assert keys(analyst_client, "/api/v1/jobs/?kind=ping_inference", "status") == ["succeeded"]


@pytest.mark.parametrize("path", ["customers", "events", "reviews", "products", "product-questions"])
def test_time_filters_take_any_utc_offset_and_refuse_moments_off_the_calendar(
    analyst_client: APIClient, path: str
) -> None:
    """PostgreSQL takes offsets up to 15:59 only: `+23:30` was a 500 on four list endpoints."""
    field = {"events": "occurred_before", "products": "updated_since", "product-questions": "updated_since"}.get(
        path, "created_before"
    )
    response = analyst_client.get(f"/api/v1/{path}/", {field: "2026-01-01T00:00:00+23:30"})
    assert response.status_code == 200, response.content
    response = analyst_client.get(f"/api/v1/{path}/", {field: "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 400 and field in response.json()
