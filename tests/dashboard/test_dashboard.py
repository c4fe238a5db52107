"""The admin home is the manager's dashboard: its figures are right on a small shop, it says so when there is
nothing yet, a cold render runs a bounded number of queries whatever the shop's size, and a warm one reads the
cache."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Lifecycle
from dashboard import figures
from jobs.models import Job, JobStatus
from tests.campaigns.builders import experiment_under_way
from tests.catalog.builders import product, review, review_insight
from tests.customers.builders import customer, customers, profile, purchase, segment

pytestmark = pytest.mark.django_db



def build_shop(n_customers: int) -> dict[str, Any]:
    """A small shop: `n_customers` with profiles and purchases this week and three weeks ago, a segment, reviews
    with a growing complaint, a running and a failed job."""
    now = timezone.now()
    item = product(title="Blue mug")
    people = customers(n_customers)
    stages = [Lifecycle.ACTIVE, Lifecycle.AT_RISK, Lifecycle.LAPSED, Lifecycle.NEW]
    for i, who in enumerate(people):
        profile(who, lifecycle=stages[i % len(stages)])
        purchase(who, item, value="10.00", now=now, days_ago=0.01, order_id=f"o-{who.pk}")
        purchase(who, item, value="5.00", now=now, days_ago=0.01, order_id=f"o-{who.pk}")  # same order, 2nd line
        purchase(who, item, value="20.00", now=now, days_ago=21, order_id=f"old-{who.pk}")
    segment(name="Tea lovers", size=n_customers // 2)
    for days in (1, 2, 3):
        text = "The handle broke after a week. Lovely colour."
        review_insight(
            review(product=item, text=text, created_at=now - timedelta(days=days)), sentiment="negative",
            polarity=-0.6, aspects=[{"term": "handle", "polarity": "negative", "start": 4, "end": 10}],
        )
    review_insight(
        review(product=item, text="The handle is fine.", created_at=now - timedelta(days=9)), sentiment="positive",
        polarity=0.5, aspects=[{"term": "handle", "polarity": "negative", "start": 4, "end": 10}],
    )
    Job.objects.create(kind="rebuild_profiles", status=JobStatus.RUNNING, progress_done=3, progress_total=10)
    Job.objects.create(kind="import_data", status=JobStatus.FAILED, error="Row 3: price is not a number.",
                       finished_at=now - timedelta(hours=2))
    camp = experiment_under_way("Spring mugs")
    return {"now": now, "item": item, "people": people, "campaign": camp}


def test_the_figures_are_right_on_a_small_shop() -> None:
    shop = build_shop(8)
    data = figures.compute(shop["now"])
    weeks = data["sales"]
    assert len(weeks) == figures.WEEKS
    assert weeks[-1]["orders"] == 8 and weeks[-1]["revenue"] == 8 * 15.0  # two lines of one order count once
    assert sum(w["orders"] for w in weeks) == 16 and sum(w["revenue"] for w in weeks) == 8 * 35.0
    lifecycle = {row["stage"]: row["count"] for row in data["lifecycle"]}  # the campaign's 12 have no profile
    assert lifecycle == {"new": 2, "active": 2, "loyal": 0, "at_risk": 2, "lapsed": 2, "prospect": 12}
    assert [(s["name"], s["size"]) for s in data["segments"]] == [("Tea lovers", 4)]
    assert sum(w["negative"] for w in data["sentiment"]) == 3 and sum(w["positive"] for w in data["sentiment"]) == 1
    [alert] = data["pain_points"]
    assert (alert["product"], alert["aspect"], alert["this_week"], alert["last_week"]) == ("Blue mug", "handle", 3, 1)
    assert alert["quote"] == "The handle broke after a week."
    assert [j["kind"] for j in data["jobs"]["active"]] == ["rebuild_profiles"]
    assert [j["error"] for j in data["jobs"]["failed"]] == ["Row 3: price is not a number."]
    [result] = data["campaigns"]
    assert result["name"] == "Spring mugs" and result["status"] == "Running" and result["verdict"]


def test_a_customer_without_a_profile_counts_as_a_prospect() -> None:
    customer()
    assert {r["stage"]: r["count"] for r in figures.compute()["lifecycle"]}["prospect"] == 1


def test_the_admin_home_shows_the_dashboard(manager_web: Client) -> None:
    build_shop(4)
    page = manager_web.get(reverse("admin:index")).content.decode()
    assert 'id="dashboard"' in page and "<svg" in page
    assert "Blue mug" in page and "The handle broke after a week." in page
    assert "Tea lovers" in page and "Row 3: price is not a number." in page
    assert reverse("admin:jobs_job_change", args=[Job.objects.get(kind="import_data").pk]) in page
    assert "refresh" in page and "Spring mugs" in page


def test_an_empty_shop_gets_a_sentence_per_section(manager_web: Client) -> None:
    page = manager_web.get(reverse("admin:index")).content.decode()
    for sentence in ("No purchases in the last 26 weeks yet.", "No customers yet.", "No behavioural segments yet",
                     "No reviews analysed in the last 26 weeks.", "No campaign running or finished yet.",
                     "No job running, queued or failed in the last 24 hours."):
        assert sentence in page


def _cold_queries(client: Client) -> int:
    figures.cache.delete(figures.CACHE_KEY)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(queries)


def test_cold_render_queries_do_not_grow_with_the_shop(manager_web: Client) -> None:
    build_shop(10)
    small = _cold_queries(manager_web)
    people = customers(190)
    item = product()
    for who in people:
        profile(who, lifecycle=Lifecycle.ACTIVE)
        purchase(who, item, value=Decimal("3.00"), now=timezone.now(), days_ago=2)
    experiment_under_way("Second test")
    assert _cold_queries(manager_web) <= small + 20  # one more campaign: a constant handful (CAMPAIGNS_SHOWN at most)
    assert _cold_queries(manager_web) == _cold_queries(manager_web)


def test_a_second_render_reads_the_cache(manager_web: Client) -> None:
    build_shop(3)
    cold = _cold_queries(manager_web)
    with CaptureQueriesContext(connection) as warm:
        manager_web.get(reverse("admin:index"))
    assert len(warm) < cold - 8
    before = figures.figures()["computed_at"]
    manager_web.get(reverse("admin:index") + "?refresh=1")
    assert figures.figures()["computed_at"] > before
