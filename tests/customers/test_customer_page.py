"""The customer page at any size: one page of events (newest first, `?events_page=N`), the precomputed
recommendations with their reasons, and a query count that does not grow with events or recommendations."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import ModelRole, Product
from customers.admin import EVENTS_PER_PAGE
from customers.models import Customer, Event, EventType
from recommendations.models import RecommendationSet
from tests.catalog.builders import model_version, product
from tests.customers.builders import NOW, customer


def _events(c: Customer, n: int, item: Product) -> None:
    """`n` events, the i-th `i` hours before NOW, in one insert (event i is "query-i")."""
    Event.objects.bulk_create([
        Event(external_id=f"e-{c.pk}-{i}", customer=c, type=EventType.SEARCH if i % 2 else EventType.VIEW,
              product=None if i % 2 else item, query=f"query-{i}" if i % 2 else "",
              occurred_at=NOW - timedelta(hours=i))
        for i in range(n)
    ])


def _page(client: Client, c: Customer, query: str = "") -> str:
    response = client.get(reverse("admin:customers_customer_change", args=[c.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</fieldset>", start)]


def _shown_times(page: str) -> list[str]:
    return re.findall(r'/admin/customers/event/\d+/change/">([^<]+)</a>', _section(page, "customer-events"))


def _hours(first: int, last: int) -> list[str]:
    return [f"{NOW - timedelta(hours=i):%Y-%m-%d %H:%M}" for i in range(first, last)]


def _recommend(c: Customer, products: list[Product], **fields: object) -> RecommendationSet:
    reasons = [
        ("Because you viewed Mug 1", "item_item"), ("Trending now", "trending"), ("Popular in the shop", "popularity"),
    ]
    items = [
        {"product": p.pk, "sku": p.sku, "title": p.title, "score": 0.05 - i / 1000,
         "reason": reasons[i % 3][0], "reason_source": reasons[i % 3][1], "sources": {reasons[i % 3][1]: i + 1}}
        for i, p in enumerate(products)
    ]
    return RecommendationSet.objects.create(customer=c, items=items, **fields)


def test_events_are_paginated_newest_first(manager_web: Client) -> None:
    c, item = customer(), product(title="Blue Mug")
    _events(c, 60, item)
    first = _page(manager_web, c)
    assert "Events (60)" in first and "page 1 of 3" in first
    assert _shown_times(first) == _hours(0, EVENTS_PER_PAGE)
    assert "Blue Mug" in _section(first, "customer-events")  # the product's title, not its id
    second = _page(manager_web, c, "?events_page=2")
    assert _shown_times(second) == _hours(EVENTS_PER_PAGE, 2 * EVENTS_PER_PAGE)
    assert f"Events {EVENTS_PER_PAGE + 1}–{2 * EVENTS_PER_PAGE} of 60" in second
    assert "?events_page=1#" in second and "?events_page=3#" in second
    last = _page(manager_web, c, "?events_page=3")
    assert _shown_times(last) == _hours(50, 60) and "next</a>" not in last
    assert f"?customer__id__exact={c.pk}" in last  # the full list, filtered to the customer, is one link away


def test_a_bad_events_page_shows_page_one_or_the_last_with_a_note(manager_web: Client) -> None:
    c = customer()
    _events(c, 30, product())
    for bad in ("abc", "0", "-2", "99999999999999999999999"):
        page = _page(manager_web, c, f"?events_page={bad}")
        if bad.startswith("9"):
            assert "There are 2 pages of events: showing the last." in page
            assert _shown_times(page) == _hours(EVENTS_PER_PAGE, 30)
        else:
            assert "is not a page number (1, 2, ...): showing page 1." in page
            assert _shown_times(page) == _hours(0, EVENTS_PER_PAGE)
    empty = _page(manager_web, customer(), "?events_page=4")
    assert "Events (0)" in empty and "No events yet." in empty


def test_recommendations_show_title_price_reason_and_source(manager_web: Client) -> None:
    c = customer()
    version = model_version(role=ModelRole.RECOMMENDER, is_active=True)
    mug = product(title="Blue Mug", price=Decimal("12.50"))
    tea = product(title="Green Tea", price=Decimal("4.00"), in_stock=False)
    _recommend(c, [mug, tea], model_version=version)
    page = _page(manager_web, c)
    page = page[page.index('class="recommendations"'):]
    assert "Blue Mug" in page and "12.50" in page and "Because you viewed Mug 1" in page
    assert "item-item similarity" in page and "Green Tea" in page and "Trending now" in page
    assert "(out of stock)" in page and "Stale" not in page
    assert reverse("admin:catalog_product_change", args=[mug.pk]) in page


def test_recommendations_say_when_missing_or_stale(manager_web: Client) -> None:
    nobody = customer()
    page = _page(manager_web, nobody)
    assert "No recommendations computed for this customer yet" in page and "precompute_recommendations" in page
    assert f"/api/v1/customers/{nobody.pk}/recommendations/" in page
    old, serving = model_version(role=ModelRole.RECOMMENDER), model_version(role=ModelRole.RECOMMENDER, is_active=True)
    c = customer()
    _recommend(c, [product(title="Old Pick")], model_version=old, computed_at=timezone.now() - timedelta(days=30))
    page = _page(manager_web, c)
    assert "Old Pick" in page and "Stale:" in page
    assert f"the serving version is {serving.name}" in page and "computed 30 days ago" in page
    # A row precomputed before `reason_source` was stored: the best-ranked source stands in.
    legacy = customer()
    RecommendationSet.objects.create(customer=legacy, model_version=serving, items=[
        {"product": product().pk, "sku": "X", "title": "Legacy", "score": 0.1,
         "reason": "Matches your interest in Home", "sources": {"content": 1, "trending": 4}}])
    page = _page(manager_web, legacy)
    assert "Matches your interest in Home" in page and "content (profile and interests)" in page


def test_page_queries_do_not_grow_with_events_or_recommendations(manager_web: Client) -> None:
    version = model_version(role=ModelRole.RECOMMENDER, is_active=True)
    item = product()
    few, many = customer(), customer()
    _events(few, 3, item)
    _events(many, 200, item)
    _recommend(few, [product()], model_version=version)
    _recommend(many, [product() for _ in range(10)], model_version=version)
    _page(manager_web, few)  # warm the session and the content types
    counts = []
    for c, query in ((few, ""), (many, ""), (many, "?events_page=5")):
        with CaptureQueriesContext(connection) as queries:
            page = _page(manager_web, c, query)
        counts.append(len(queries))
        assert "Because you viewed Mug 1" in page
    assert counts[0] == counts[1] == counts[2] <= 16, counts
