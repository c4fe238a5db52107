"""Writing a planned shop: bulk upserts by key in one transaction under an advisory lock, so a failure
leaves nothing half-written and two seeds never write at once.

`force` upserts every demo row by its key and deletes demo rows the new plan no longer has. Rows that
are not demo rows are never written or deleted, although deleting a stale demo product or customer
applies the models' usual on-delete rules to whatever points at it.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models, transaction

from campaigns.brand import current_brand
from campaigns.models import Brand, Campaign
from catalog.models import Product, Review
from core.progress import Progress
from customers.models import Customer, Event, EventType

from .. import catalog_data
from .knowledge import knowledge_rows, write_knowledge
from .options import (
    CURRENCY,
    CUSTOMER_PREFIX,
    EVENT_PREFIX,
    ORDER_PREFIX,
    REVIEW_PREFIX,
    REVIEW_SOURCE,
    SKU_PREFIX,
)
from .plan import ShopPlan

BATCH_SIZE = 2000
LOCK_KEY = 0x64656D6F  # pg_advisory_xact_lock key: two seeds never write at once

M = TypeVar("M", bound=models.Model)


def demo_data_exists() -> bool:
    return (
        Product.objects.filter(sku__startswith=SKU_PREFIX).exists()
        or Customer.objects.filter(external_id__startswith=CUSTOMER_PREFIX).exists()
    )


def exists_message() -> str:
    n = Product.objects.filter(sku__startswith=SKU_PREFIX).count()
    return f"Demo data already exists ({n} demo products); nothing written. Use --force to replace it."


def planned_rows(plan: ShopPlan) -> int:
    """How many rows writing the plan writes (the progress total): every entity and the sample campaigns."""
    rows = (plan.products, plan.customers, plan.events, plan.reviews, catalog_data.DEMO_CAMPAIGNS)
    return sum(len(kind) for kind in rows) + knowledge_rows(plan.questions)


def write_shop(plan: ShopPlan, *, force: bool, progress: Progress) -> dict[str, int] | None:
    """Write the plan in one transaction; counts of written rows, or None when (without `force`) another
    seed wrote demo data while this one was planning."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        if not force and demo_data_exists():
            return None
        return _write(plan, progress)


def _write(plan: ShopPlan, progress: Progress) -> dict[str, int]:
    """Every demo row in foreign-key order (products and customers before the events and reviews that
    point at them), then the sample campaigns; with `force`, demo rows the plan no longer has go."""
    products = [
        Product(
            sku=p.sku, title=p.title, description=p.description, category=p.category.path, brand=p.brand,
            price=p.price, currency=CURRENCY, is_active=p.inactive_since is None,
            in_stock=p.out_of_stock_since is None, attributes=p.attributes, created_at=p.created_at,
        )
        for p in plan.products
    ]
    _upsert(Product, products, "sku", "products", progress)
    customers = [
        Customer(
            external_id=c.external_id, email=c.email, name=c.name, locale=c.locale,
            marketing_consent=c.consent, attributes=c.attributes, created_at=c.created_at, timezone=c.timezone,
        )
        for c in plan.customers
    ]
    _upsert(Customer, customers, "external_id", "customers", progress)

    width = max(6, len(str(len(plan.events))))
    orders: dict[int, str] = {}
    events = []
    for n, e in enumerate(plan.events, start=1):
        order_id = ""
        if e.order is not None:
            order_id = orders.setdefault(e.order, f"{ORDER_PREFIX}{len(orders) + 1:0{width}d}")
        events.append(
            Event(
                external_id=f"{EVENT_PREFIX}{n:07d}", customer=customers[e.customer],
                product=products[e.product] if e.product is not None else None, type=e.type, query=e.query,
                order_id=order_id, quantity=e.quantity, value=e.value, attributes=e.attributes,
                occurred_at=e.occurred_at,
            )
        )
    _upsert(Event, events, "external_id", "events", progress)

    reviews = [
        Review(
            external_id=f"{REVIEW_PREFIX}{n:06d}", product=products[r.product], customer=customers[r.customer],
            rating=r.rating, title=r.title, text=r.text, language=r.language, source=REVIEW_SOURCE,
            created_at=r.created_at,
        )
        for n, r in enumerate(sorted(plan.reviews, key=lambda r: (r.created_at, r.customer, r.product)), start=1)
    ]
    _upsert(Review, reviews, "external_id", "reviews", progress)

    progress.stage("writing campaigns")
    campaigns = _write_campaigns()
    if campaigns:
        progress.advance(campaigns, campaigns=campaigns)

    knowledge = write_knowledge(plan.questions, delete_stale=True, progress=progress)

    # With force, demo rows the new plan does not have (a smaller or different shop) go away.
    progress.stage("deleting stale demo rows")
    deleted = 0
    deleted += _delete_stale(Event, "external_id", EVENT_PREFIX, {e.external_id for e in events})
    deleted += _delete_stale(Review, "external_id", REVIEW_PREFIX, {r.external_id for r in reviews})
    deleted += _delete_stale(Product, "sku", SKU_PREFIX, {p.sku for p in products})
    deleted += _delete_stale(Customer, "external_id", CUSTOMER_PREFIX, {c.external_id for c in customers})
    counts = {
        "products": len(products),
        "customers": len(customers),
        "events": len(events),
        "reviews": len(reviews),
        "campaigns": campaigns,
        "orders": len(orders),
        "stale_deleted": deleted,
    }
    counts.update(knowledge)
    for type_ in EventType:
        counts[f"events_{type_.value}"] = sum(1 for e in events if e.type == type_)
    counts["reviews_zh"] = sum(1 for r in reviews if r.language == "zh")
    return counts


def _upsert(model: type[M], objs: list[M], key: str, kind: str, progress: Progress) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE in batches; PostgreSQL returns the primary keys, which the
    rows written next (events, reviews) need for their foreign keys. Progress counts rows per `kind`."""
    progress.stage(f"writing {kind}")
    fields = [
        f.name for f in model._meta.concrete_fields
        if not f.primary_key and f.name != key and not getattr(f, "auto_now_add", False)
    ]
    for start in range(0, len(objs), BATCH_SIZE):
        batch = objs[start : start + BATCH_SIZE]
        model._default_manager.bulk_create(batch, update_conflicts=True, unique_fields=[key], update_fields=fields)
        progress.advance(len(batch), **{kind: len(batch)})


def _delete_stale(model: type[models.Model], key: str, prefix: str, keep: set[str]) -> int:
    existing = model._default_manager.filter(**{f"{key}__startswith": prefix}).values_list("pk", key)
    stale = [pk for pk, value in existing if value not in keep]
    deleted = 0
    for start in range(0, len(stale), 5000):
        deleted += model._default_manager.filter(pk__in=stale[start : start + 5000]).delete()[1].get(
            model._meta.label, 0
        )
    return deleted


def _write_campaigns() -> int:
    """The sample draft campaigns, matched by name; an existing one keeps its status and history. The brand
    gets the demo's name and colours unless someone changed it already."""
    brand = current_brand()
    if brand.name == Brand._meta.get_field("name").get_default():
        for field_name, text in catalog_data.DEMO_BRAND.items():
            setattr(brand, field_name, text)
        brand.full_clean()
        brand.save()
    written = 0
    for spec in catalog_data.DEMO_CAMPAIGNS:
        fields = {k: v for k, v in spec.items() if k != "name"}
        campaign = Campaign.objects.filter(name=str(spec["name"])).order_by("pk").first()
        if campaign is None:
            Campaign.objects.create(name=str(spec["name"]), status=Campaign.Status.DRAFT, **fields)
        else:
            for attr, value in fields.items():
                setattr(campaign, attr, value)
            campaign.save(update_fields=[*fields, "updated_at"])
        written += 1
    return written
