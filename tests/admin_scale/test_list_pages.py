"""Admin pages over big tables: the query count of a list or change page does not grow with its rows (5 rows
against 150, more than a page), and above `ADMIN_EXACT_COUNT_LIMIT` a list shows the planner's estimate
("about 300 customers") instead of counting every row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from campaigns.models import Arm, Assignment, Experiment, Message
from catalog.models import Review, ReviewInsight
from core.large_lists import about, estimated_count
from customers.models import Customer, CustomerPrediction, CustomerProfile, Event, EventType
from jobs.models import Job
from recommendations.models import RecommendationSet
from tests.campaigns.builders import campaign
from tests.catalog.builders import model_version, product
from tests.customers.builders import customers

SMALL, LARGE = 5, 150

pytestmark = pytest.mark.django_db


def _customers(n: int) -> list[Customer]:
    made = customers(n, email="", marketing_consent=True)
    CustomerProfile.objects.bulk_create([CustomerProfile(customer=c, lifecycle="active") for c in made])
    return made


def _events(n: int) -> str:
    buyer, item = customers(1)[0], product()
    now = timezone.now()
    Event.objects.bulk_create([
        Event(external_id=f"list-{buyer.pk}-{i}", customer=buyer, product=item, type=EventType.PURCHASE,
              order_id=f"o-{i}", quantity=1, value=Decimal("9.50"), occurred_at=now - timedelta(minutes=i))
        for i in range(n)
    ])
    return reverse("admin:customers_event_changelist")


def _customer_list(n: int) -> str:
    _customers(n)
    return reverse("admin:customers_customer_changelist") + "?lifecycle=active"


def _predictions(n: int) -> str:
    version = model_version(role="churn")
    CustomerPrediction.objects.bulk_create([
        CustomerPrediction(customer=c, target="churn", probability=0.3, model_version=version,
                           drivers=[{"group": "recency", "effect": 0.2, "shown": [["recency_days", 40, 20]]}])
        for c in customers(n)
    ])
    return reverse("admin:customers_customerprediction_changelist")


def _messages(n: int) -> str:
    camp = campaign()
    Message.objects.bulk_create([
        Message(campaign=camp, customer=c, channel="email", recipient=f"m{c.pk}@example.com") for c in customers(n)
    ])
    return reverse("admin:campaigns_message_changelist")


def _assignments(n: int) -> str:
    exp = Experiment.objects.create(campaign=campaign())
    arm = Arm.objects.create(experiment=exp, key="A", is_control=True)
    Assignment.objects.bulk_create([Assignment(experiment=exp, arm=arm, customer=c) for c in customers(n)])
    return reverse("admin:campaigns_assignment_changelist")


def _reviews(n: int) -> str:
    item = product()
    made = Review.objects.bulk_create([
        Review(external_id=f"r-{item.pk}-{i}", product=item, rating=1 + i % 5, text=f"Review {i}.") for i in range(n)
    ])
    ReviewInsight.objects.bulk_create([
        ReviewInsight(review=r, text_hash=f"h{r.pk}", sentiment="positive") for r in made
    ])
    return reverse("admin:catalog_review_changelist")


def _product_page(n: int) -> str:
    item = product()
    Review.objects.bulk_create([
        Review(external_id=f"p-{item.pk}-{i}", product=item, rating=4, text=f"Review {i}.") for i in range(n)
    ])
    return reverse("admin:catalog_product_change", args=[item.pk])


def _products(n: int) -> str:
    for _ in range(n):
        product()
    return reverse("admin:catalog_product_changelist")


def _recommendation_sets(n: int) -> str:
    item = product()
    RecommendationSet.objects.bulk_create([
        RecommendationSet(customer=c, items=[{"product": item.pk, "sku": item.sku, "score": 0.5, "reason": "Popular"}])
        for c in customers(n)
    ])
    return reverse("admin:recommendations_recommendationset_changelist")


def _jobs(n: int) -> str:
    Job.objects.bulk_create([Job(kind="rebuild_profiles", status="failed", error="No events.") for _ in range(n)])
    return reverse("admin:jobs_job_changelist")


def _audit(n: int) -> str:
    AuditEntry.objects.bulk_create([
        AuditEntry(actor_label="ana", action="campaign.approve", target_type="campaigns.campaign", target_id=str(i),
                   target_label=f"Campaign {i}") for i in range(n)
    ])
    return reverse("admin:audit_auditentry_changelist")


def _campaign_page(n: int) -> str:
    camp = campaign()
    Message.objects.bulk_create([
        Message(campaign=camp, customer=c, channel="email", recipient=f"m{c.pk}@example.com") for c in customers(n)
    ])
    return reverse("admin:campaigns_campaign_change", args=[camp.pk])


PAGES: dict[str, Callable[[int], str]] = {
    "customer list": _customer_list, "event list": _events, "prediction list": _predictions,
    "message list": _messages, "assignment list": _assignments, "review list": _reviews,
    "product list": _products, "product page": _product_page, "recommendation list": _recommendation_sets,
    "job list": _jobs, "audit list": _audit, "campaign page": _campaign_page,
}


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm: the session, content types and permissions are cached after the first view
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_does_not_grow_with_rows(admin_client: Client, page: str) -> None:
    build = PAGES[page]
    few = _queries(admin_client, build(SMALL))
    Customer.objects.all().delete()
    many_url = build(LARGE)
    many = _queries(admin_client, many_url)
    assert many == few, f"{page}: {few} queries with {SMALL} rows, {many} with {LARGE}"


def test_a_big_list_shows_an_estimate(admin_client: Client, settings: object) -> None:
    settings.ADMIN_EXACT_COUNT_LIMIT = 100  # type: ignore[attr-defined]
    _customers(300)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
    page = admin_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert "about 300 customers" in page
    assert "1 of 3" not in page and 'href="?p=3"' in page  # pages from the estimate: 300 rows, 100 a page


def test_a_small_list_counts_exactly(admin_client: Client) -> None:
    _customers(7)
    page = admin_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert "7 customers" in page and "about" not in page.split('class="paginator"')[1]


def test_estimated_count_is_exact_below_the_limit_and_bounded() -> None:
    made = _customers(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
    assert estimated_count(Customer.objects.all(), limit=1000) == (40, False)
    assert estimated_count(Customer.objects.filter(pk__in=[c.pk for c in made[:3]]), limit=1000) == (3, False)
    number, estimated = estimated_count(Customer.objects.all(), limit=10)
    assert estimated and number >= 11  # above the limit: never reported as an exact figure below it


@pytest.mark.parametrize(("number", "text"), [
    (1_234_567, "about 1.2 million"), (10_000_000, "about 10 million"), (340_400, "about 340 thousand"),
    (1_240, "about 1,200"), (87, "about 90"),
])
def test_about(number: int, text: str) -> None:
    assert about(number) == text


def test_event_search_is_exact_and_indexed(admin_client: Client) -> None:
    url = _events(30)
    buyer = Event.objects.first().customer  # type: ignore[union-attr]
    found = admin_client.get(url + f"?q={buyer.external_id}").content.decode()
    assert "30 events" in found
    assert "1 event" in admin_client.get(url + "?q=o-7").content.decode()  # an order id
    nothing = admin_client.get(url + "?q=o-").content.decode()  # a part of an id matches nothing
    assert "0 events" in nothing
    assert "An exact event id, order id" in nothing  # the search says what it matches


def test_the_product_page_shows_the_latest_reviews_only(admin_client: Client) -> None:
    from catalog.admin import REVIEWS_SHOWN

    item = product(title="Blue Mug")
    now = timezone.now()
    Review.objects.bulk_create([
        Review(external_id=f"latest-{i}", product=item, rating=1 + i % 5, text=f"Review number {i}.",
               created_at=now - timedelta(days=i))
        for i in range(REVIEWS_SHOWN + 10)
    ])
    page = admin_client.get(reverse("admin:catalog_product_change", args=[item.pk])).content.decode()
    assert "Review number 0." in page and f"Review number {REVIEWS_SHOWN - 1}." in page
    assert f"Review number {REVIEWS_SHOWN}." not in page  # older ones: in the review list
    listed = admin_client.get(reverse("admin:catalog_product_changelist") + "?q=Blue+Mug").content.decode()
    assert f'<td class="field-review_count">{REVIEWS_SHOWN + 10}</td>' in listed
    assert '<td class="field-average_rating">3.0</td>' in listed
