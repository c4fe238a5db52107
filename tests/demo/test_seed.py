"""The demo shop: sizes, reproducibility, idempotency, and the properties later pipeline steps rely on."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Brand, Campaign
from catalog.models import Product, Review
from customers.models import Customer, Event, EventType
from demo import catalog_data
from demo.seed import SeedOptions, SeedReport, plan_shop, seed_shop
from jobs import runner
from jobs.models import Job, JobStatus
from tests.catalog.builders import product as build_product
from tests.catalog.builders import review as build_review
from tests.customers.builders import customer, event

ANCHOR = date(2025, 6, 30)
TINY = {"products": 20, "customers": 30, "events": 300, "reviews": 50}
# Big enough that every kind of behaviour shows up, still well under a second to write.
SMALL = {"products": 60, "customers": 200, "events": 4000, "reviews": 300}


def _options(sizes: dict[str, int], seed: int = 42, force: bool = False, anchor: date = ANCHOR) -> SeedOptions:
    return SeedOptions(
        seed=seed, anchor=anchor, force=force, products=sizes["products"], customers=sizes["customers"],
        events=sizes["events"], reviews=sizes["reviews"],
    )


def _seed(sizes: dict[str, int] = TINY, force: bool = False, seed: int = 42) -> SeedReport:
    return seed_shop(_options(sizes, seed=seed, force=force))


def _fingerprint() -> str:
    """A hash of every demo row's content (not of database ids or ingestion times)."""
    digest = hashlib.sha256()

    def add(rows: Any) -> None:
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, default=str).encode())

    add(Product.objects.filter(sku__startswith="DEMO-").order_by("sku").values_list(
        "sku", "title", "description", "category", "brand", "price", "currency", "is_active", "in_stock",
        "attributes", "created_at"))
    add(Customer.objects.filter(external_id__startswith="demo-c-").order_by("external_id").values_list(
        "external_id", "name", "email", "locale", "marketing_consent", "attributes", "created_at"))
    add(Event.objects.filter(external_id__startswith="demo-e-").order_by("external_id").values_list(
        "external_id", "customer__external_id", "product__sku", "type", "query", "order_id", "quantity", "value",
        "attributes", "occurred_at"))
    add(Review.objects.filter(external_id__startswith="demo-r-").order_by("external_id").values_list(
        "external_id", "product__sku", "customer__external_id", "rating", "title", "text", "language", "created_at"))
    return digest.hexdigest()


def _delete_demo_rows() -> None:
    Event.objects.filter(external_id__startswith="demo-e-").delete()
    Review.objects.filter(external_id__startswith="demo-r-").delete()
    Product.objects.filter(sku__startswith="DEMO-").delete()
    Customer.objects.filter(external_id__startswith="demo-c-").delete()


@pytest.mark.django_db
def test_tiny_seed_creates_the_requested_shop_quickly() -> None:
    started = time.monotonic()
    out = StringIO()
    call_command("seed_demo", "--anchor", ANCHOR.isoformat(), *[f"--{k}={v}" for k, v in TINY.items()],
                 verbosity=0, stdout=out)
    elapsed = time.monotonic() - started

    assert "Demo shop seeded" in out.getvalue()
    assert Product.objects.filter(sku__startswith="DEMO-").count() == 20
    assert Customer.objects.filter(external_id__startswith="demo-c-").count() == 30
    assert Review.objects.filter(external_id__startswith="demo-r-").count() == 50
    assert 200 <= Event.objects.filter(external_id__startswith="demo-e-").count() <= 330
    assert elapsed < 5  # about 0.3 s here; the bound only catches a pathological slowdown

    paths = {c.path for c in catalog_data.CATEGORIES}
    products = list(Product.objects.filter(sku__startswith="DEMO-"))
    assert {p.category for p in products} <= paths and len({p.category for p in products}) == len(paths)
    assert all(p.currency == "USD" and p.price and p.price > 0 and len(p.description) > 60 for p in products)
    assert Product.objects.get(sku="DEMO-00001").title
    emails = Customer.objects.filter(external_id__startswith="demo-c-").values_list("email", flat=True)
    assert all(re.fullmatch(r"[a-z0-9._]+@example\.(com|org|net)", e) for e in emails)

    campaigns = Campaign.objects.filter(name__startswith="[Demo] ")
    assert campaigns.count() == 3
    assert all(c.status == Campaign.Status.DRAFT and c.brief and c.brand_voice for c in campaigns)
    brand = Brand.objects.get()  # the demo's brand in its emails, valid by the brand's own rules
    assert (brand.name, brand.primary_colour) == ("Northwind Outfitters", "#0b4f6c")

    events = Event.objects.filter(external_id__startswith="demo-e-")
    anchor = datetime(2025, 6, 30, tzinfo=UTC)
    first = events.order_by("occurred_at").first()
    last = events.order_by("occurred_at").last()
    assert first is not None and last is not None
    assert anchor - timedelta(days=275) <= first.occurred_at and last.occurred_at < anchor


@pytest.mark.django_db
def test_same_seed_and_anchor_give_the_same_shop() -> None:
    _seed()
    first = _fingerprint()
    _delete_demo_rows()
    _seed()
    assert _fingerprint() == first

    _delete_demo_rows()
    _seed(seed=7)
    assert _fingerprint() != first


def test_the_plan_itself_is_deterministic_and_needs_no_database() -> None:
    a = plan_shop(_options(TINY))
    b = plan_shop(_options(TINY))
    assert [r.text for r in a.reviews] == [r.text for r in b.reviews]
    assert [(e.type, e.occurred_at) for e in a.events] == [(e.type, e.occurred_at) for e in b.events]
    # another anchor shifts the calendar, not the shop
    c = plan_shop(_options(TINY, anchor=ANCHOR + timedelta(days=10)))
    assert [p.title for p in c.products] == [p.title for p in a.products]
    assert c.events[0].occurred_at - a.events[0].occurred_at == timedelta(days=10)


@pytest.mark.django_db
def test_second_run_skips_and_force_replaces_without_duplicates() -> None:
    other_product = build_product(sku="SHOP-1", title="A real product", price=10)
    other_customer = customer(external_id="shop-c-1", email="real@example.com")
    event(other_customer, "view", product=other_product, external_id="shop-e-1")
    build_review(external_id="shop-r-1", product=other_product, rating=4, text="Nice.")

    first = _seed()
    assert not first.skipped
    fingerprint = _fingerprint()

    out = StringIO()
    call_command("seed_demo", "--anchor", ANCHOR.isoformat(), verbosity=0, stdout=out)
    assert "already exists" in out.getvalue()
    assert _seed().skipped
    assert _fingerprint() == fingerprint

    again = _seed(force=True)
    assert not again.skipped and again.counts["stale_deleted"] == 0
    assert _fingerprint() == fingerprint  # upserted in place, nothing duplicated
    assert Product.objects.filter(sku__startswith="DEMO-").count() == 20
    assert Campaign.objects.filter(name__startswith="[Demo] ").count() == 3

    smaller = _seed({"products": 12, "customers": 15, "events": 100, "reviews": 10}, force=True)
    assert smaller.counts["stale_deleted"] > 0
    assert Product.objects.filter(sku__startswith="DEMO-").count() == 12
    assert Customer.objects.filter(external_id__startswith="demo-c-").count() == 15
    assert Review.objects.filter(external_id__startswith="demo-r-").count() == 10
    # rows that are not demo rows are never touched
    assert Product.objects.filter(sku="SHOP-1", title="A real product").exists()
    assert Customer.objects.filter(external_id="shop-c-1").exists()
    assert Event.objects.filter(external_id="shop-e-1", product=other_product).exists()
    assert Review.objects.filter(external_id="shop-r-1").exists()


@pytest.mark.django_db
def test_events_follow_a_realistic_funnel() -> None:
    _seed(SMALL)
    events = list(Event.objects.filter(external_id__startswith="demo-e-").select_related("product"))
    by_type = Counter(e.type for e in events)
    assert by_type[EventType.VIEW] > by_type[EventType.ADD_TO_CART] > by_type[EventType.PURCHASE] > 0
    assert by_type[EventType.SEARCH] > 0 and by_type[EventType.OPEN] > by_type[EventType.CLICK] > 0

    seen: dict[tuple[int, int | None], set[str]] = defaultdict(set)
    orders: dict[str, list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.occurred_at, e.external_id)):
        key = (e.customer_id, e.product_id)
        if e.type == EventType.ADD_TO_CART:
            assert "view" in seen[key], "carted before viewing"
        if e.type == EventType.PURCHASE:
            assert {"view", "add_to_cart"} <= seen[key], "bought before viewing and carting"
            assert e.order_id and e.quantity and e.quantity > 0
            assert e.product is not None and e.product.price is not None
            assert e.value == e.product.price * e.quantity
            orders[e.order_id].append(e)
        if e.type == EventType.SEARCH:
            assert e.query.strip()
        seen[key].add(e.type)
    assert any(len(lines) > 1 for lines in orders.values())  # baskets, not only single items
    assert len({e.customer_id for lines in orders.values() for e in lines}) == len(
        {lines[0].customer_id for lines in orders.values()})  # one customer per order

    # a phone is often bought with a case made for it
    phone_orders = [lines for lines in orders.values() if any(e.product.category.endswith("Smartphones")
                                                              for e in lines if e.product)]
    assert any(any("Accessories" in e.product.category for e in lines if e.product) for lines in phone_orders)


@pytest.mark.django_db
def test_customers_have_lifecycles_consent_and_coherent_interests() -> None:
    _seed(SMALL)
    anchor = datetime(2025, 6, 30, tzinfo=UTC)
    customers = {c.pk: c for c in Customer.objects.filter(external_id__startswith="demo-c-")}
    purchases: dict[int, list[datetime]] = defaultdict(list)
    categories: dict[int, Counter[str]] = defaultdict(Counter)
    for e in Event.objects.filter(external_id__startswith="demo-e-").select_related("product"):
        if e.type == EventType.PURCHASE:
            purchases[e.customer_id].append(e.occurred_at)
        if e.type == EventType.VIEW and e.product:
            categories[e.customer_id][e.product.category] += 1

    assert any(len({t.date() for t in times}) >= 3 for times in purchases.values())  # repeat buyers
    assert any(max(times) < anchor - timedelta(days=90) for times in purchases.values())  # lapsed
    assert any(c.created_at > anchor - timedelta(days=45) for c in customers.values())  # new sign-ups
    consent = sum(c.marketing_consent for c in customers.values()) / len(customers)
    assert 0.6 < consent < 0.9
    unsubscribed = set(Event.objects.filter(external_id__startswith="demo-e-", type=EventType.UNSUBSCRIBE)
                       .values_list("customer_id", flat=True))
    assert all(not customers[pk].marketing_consent for pk in unsubscribed)
    # interests are concentrated: a typical active customer views mostly one or two categories
    busy = [counts for counts in categories.values() if sum(counts.values()) >= 10]
    top_two_share = sum(sum(n for _, n in c.most_common(2)) / sum(c.values()) for c in busy) / len(busy)
    assert top_two_share > 0.75
    assert {c.locale for c in customers.values()} >= {"en-US", "en-GB", "zh-CN"}
    assert all(c.attributes.get("country") for c in customers.values())

    products = Product.objects.filter(sku__startswith="DEMO-")
    assert products.filter(is_active=False).exists() or products.filter(in_stock=False).exists()


def _phrases(category_path: str, language: str) -> tuple[list[str], list[str]]:
    category = next(c for c in catalog_data.CATEGORIES if c.path == category_path)
    aspects = [*category.aspects, *catalog_data.GENERIC_ASPECTS]
    if language == "zh":
        return ([p for a in aspects for p in a.zh_positive], [p for a in aspects for p in a.zh_negative])
    return ([p.lower() for a in aspects for p in a.positive], [p.lower() for a in aspects for p in a.negative])


@pytest.mark.django_db
def test_review_text_agrees_with_the_rating_and_follows_purchases() -> None:
    _seed(SMALL)
    reviews = list(Review.objects.filter(external_id__startswith="demo-r-").select_related("product"))
    assert Counter(r.rating for r in reviews).keys() == {1, 2, 3, 4, 5}
    for review in reviews:
        assert review.rating is not None
        positive, negative = _phrases(review.product.category, review.language)
        text = review.text if review.language == "zh" else review.text.lower()
        if review.rating <= 2:
            assert any(p in text for p in negative), review.text
        if review.rating == 5:
            assert not any(p in text for p in negative), review.text
            assert any(p in text for p in positive), review.text
        assert review.title and review.source == "demo"

    zh = [r for r in reviews if r.language == "zh"]
    assert zh and all(re.search(r"[\u4e00-\u9fff]", r.text) for r in zh)
    assert {r.language for r in reviews} == {"en", "zh"}
    assert len(zh) / len(reviews) < 0.12

    bought: dict[tuple[int, int], datetime] = {}
    for e in Event.objects.filter(external_id__startswith="demo-e-", type=EventType.PURCHASE).order_by("occurred_at"):
        assert e.product_id is not None
        bought.setdefault((e.customer_id, e.product_id), e.occurred_at)
    verified = [r for r in reviews if r.customer_id and (r.customer_id, r.product_id) in bought]
    assert len(verified) / len(reviews) > 0.7
    assert all(r.created_at > bought[(r.customer_id, r.product_id)] for r in verified if r.customer_id)


def test_products_of_one_kind_have_different_pain_points() -> None:
    """Complaints in the review texts cluster on each product's own weak aspects."""
    plan = plan_shop(_options({"products": 100, "customers": 1500, "events": 30000, "reviews": 2500}))
    top_complaint: dict[int, str] = {}
    for product in plan.products:
        if product.ptype.key not in ("over_ear_headphones", "earbuds", "road_running_shoes"):
            continue
        complaints: Counter[str] = Counter()
        for review in plan.reviews:
            if review.product == product.index and review.language == "en" and review.rating <= 3:
                text = review.text.lower()
                for name in product.ptype.aspects:
                    if any(p.lower() in text for p in product.category.aspect(name).negative):
                        complaints[name] += 1
        if sum(complaints.values()) >= 5:
            top_complaint[product.index] = complaints.most_common(1)[0][0]
    assert len(top_complaint) >= 5
    assert len(set(top_complaint.values())) >= 3


def test_catalog_data_is_consistent() -> None:
    for category in catalog_data.CATEGORIES:
        names = {a.name for a in category.aspects}
        positive, negative = _phrases(category.path, "en")
        assert not any(p in n or n in p for p in positive for n in negative), category.path
        zh_positive, zh_negative = _phrases(category.path, "zh")
        assert not any(p in n or n in p for p in zh_positive for n in zh_negative), category.path
        for ptype in category.types:
            assert set(ptype.aspects) <= names | {"build quality"}, ptype.key
            for aspect in ptype.aspects:
                category.aspect(aspect)
            assert ptype.wishes and ptype.zh_wishes and ptype.searches and ptype.models
            context: dict[str, Any] = {"brand": category.brands[0].name, "model": ptype.models[0], "phone": "X 1"}
            for values in (*ptype.specs.values(), *ptype.attributes.values()):
                assert values
            for i in range(3):  # every value of every spec fits the templates
                for key, values in (*ptype.specs.items(), *ptype.attributes.items()):
                    context[key] = values[i % len(values)]
                for template in (ptype.title, *ptype.intros, *ptype.features):
                    assert "{" not in template.format_map(context), template


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="products"):
        SeedOptions(products=0)
    with pytest.raises(ValueError, match="unknown seed_demo option"):
        SeedOptions.from_params({"prodcts": 3})
    options = SeedOptions.from_params({"anchor": "2025-01-31", "products": "5", "force": 1})
    assert options.anchor == date(2025, 1, 31) and options.products == 5 and options.force
    with pytest.raises(CommandError, match="--anchor"):
        call_command("seed_demo", "--anchor", "yesterday", verbosity=0)


@pytest.mark.django_db
def test_seed_demo_job_runs_and_records_counts(django_capture_on_commit_callbacks: Any) -> None:
    params = {**TINY, "anchor": ANCHOR.isoformat(), "seed": 3}
    with django_capture_on_commit_callbacks(execute=True):
        job = runner.start_job("seed_demo", params)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.counts["products"] == 20 and job.counts["customers"] == 30 and job.counts["reviews"] == 50
    assert job.counts["events"] > 0 and job.counts["campaigns"] == 3
    assert job.progress_total == job.progress_done > 0
    assert job.result["counts"]["reviews"] == 50 and job.result["skipped"] is False

    with django_capture_on_commit_callbacks(execute=True):
        again = runner.start_job("seed_demo", params)
    again.refresh_from_db()
    assert again.status == JobStatus.SUCCEEDED and again.result["skipped"] is True
    assert again.counts == {"skipped": 1}
    assert Job.objects.filter(kind="seed_demo").count() == 2
