""""Recommendations served": counted in memory where they are served (the customer API, similar products, a
campaign message being sent), written per day and channel in one upsert, and shown on the dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.personalisation import render
from dashboard import figures
from recommendations import served
from recommendations.models import RecommendationSet, ServedCount
from tests.campaigns.builders import campaign, subscriber, variant
from tests.catalog.builders import product

from .conftest import Shop


def counts() -> dict[str, tuple[int, int]]:
    today = timezone.localdate()
    return {row.channel: (row.lists, row.items) for row in ServedCount.objects.filter(day=today)}


def test_the_api_counts_what_it_serves_without_a_query(trained_shop: Shop, analyst_client: APIClient) -> None:
    alice = trained_shop.customers["alice"]
    analyst_client.get(f"/api/v1/customers/{alice.pk}/recommendations/", {"k": 3})  # tables loaded once
    served.discard()
    with CaptureQueriesContext(connection) as queries:
        response = analyst_client.get(f"/api/v1/customers/{alice.pk}/recommendations/", {"k": 3})
    assert response.status_code == 200 and len(response.json()["items"]) == 3
    assert not any("served" in q["sql"] for q in queries.captured_queries)  # nothing written on the request path
    analyst_client.get(f"/api/v1/customers/{alice.pk}/recommendations/", {"k": 4})
    analyst_client.get(f"/api/v1/products/{trained_shop.products['mug1'].pk}/similar/", {"k": 2})
    analyst_client.get("/api/v1/customers/999999999/recommendations/")  # 404: nothing served
    assert served.pending() == {
        (timezone.localdate(), "api"): (2, 7), (timezone.localdate(), "similar"): (1, 2),
    }

    assert served.flush() == 2
    assert counts() == {"api": (2, 7), "similar": (1, 2)}
    assert served.pending() == {} and served.flush() == 0

    analyst_client.get(f"/api/v1/customers/{alice.pk}/recommendations/", {"k": 5})
    with CaptureQueriesContext(connection) as queries:
        served.flush()
    assert len(queries.captured_queries) == 1  # n = n + x on the existing row
    assert counts() == {"api": (3, 12), "similar": (1, 2)}


def test_each_day_has_its_row(db: None) -> None:
    now = timezone.now()
    served.record(served.Channel.CAMPAIGN, 3, now=now - timedelta(days=1))
    served.record(served.Channel.CAMPAIGN, 4, now=now)
    served.record(served.Channel.CAMPAIGN, 2, now=now)
    assert served.flush() == 2
    rows = dict(ServedCount.objects.values_list("day", "items"))
    assert rows == {timezone.localdate(now - timedelta(days=1)): 3, timezone.localdate(now): 6}


def test_bad_counts_are_refused(db: None) -> None:
    with pytest.raises(ValueError, match="channel 'widget': expected one of api, similar, campaign"):
        served.record("widget", 3)
    with pytest.raises(ValueError, match="items must be 0 or more, got -1"):
        served.record(served.Channel.API, -1)
    assert served.pending() == {}


def test_the_dashboard_shows_today_the_week_and_the_trend(db: None, admin_client: Client) -> None:
    now = timezone.now()
    for days_ago, lists in ((0, 3), (2, 5), (9, 4)):
        for _ in range(lists):
            served.record(served.Channel.API, 10, now=now - timedelta(days=days_ago))
    served.record(served.Channel.CAMPAIGN, 3, now=now)
    served.flush()
    data = figures.compute(now)["served"]
    assert (data["today"], data["today_items"], data["last_7_days"], data["previous_7_days"]) == (4, 33, 9, 4)
    assert data["trend"] == 1.25 and len(data["days"]) == figures.SERVED_DAYS
    assert [(c["channel"], c["lists"]) for c in data["channels"]] == [("api", 8), ("campaign", 1)]

    page = admin_client.get(reverse("admin:index"), {"refresh": 1}).content.decode()
    tile = page[page.index('id="dashboard-served"'):page.index('id="dashboard-jobs"')]
    assert "Recommendations served" in tile and "+125%" in tile and "against the 7 days before (4)" in tile
    assert "<svg" in tile and "API: a customer&#x27;s recommendations: 8" in tile


def test_the_dashboard_says_when_none_were_served(db: None, admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:index"), {"refresh": 1}).content.decode()
    assert "No recommendations served in the last 7 days." in page


def test_a_message_sent_counts_its_recommended_products_and_a_preview_does_not(db: None) -> None:
    camp = campaign(recommend_products=True, landing_url="https://shop.example.com/")
    picks = [product(title=f"Pick {i}") for i in range(2)]
    cust = subscriber()
    RecommendationSet.objects.create(customer=cust, items=[{"product": p.pk} for p in picks])
    render(variant(camp), cust)  # the admin preview
    assert served.pending() == {}
    message = render(variant(camp), cust, message_id=7)
    assert len(message.products) == 2
    assert served.pending() == {(timezone.localdate(), "campaign"): (1, 2)}
