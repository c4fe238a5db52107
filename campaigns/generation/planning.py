"""Which variants a campaign needs: groups of segment x product (x customer, when personalising), then one
slot per variant still missing. See the package docstring for the rules and their caps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Case, FloatField, Max, Q, Sum, Value, When

from catalog.models import Product
from customers.behaviour import EVENT_WEIGHTS
from customers.models import Customer, Event, EventType, Segment
from inference.generation import ChatPrompt
from recommendations.models import RecommendationSet

from ..audience import audience_queryset
from ..channels import Copy
from ..models import Campaign
from ..prompts import ANGLES

MAX_GROUPS = 12
MAX_PRODUCTS = 4
RECOMMENDED_PER_SEGMENT = 2
POPULAR_DAYS = 90
PER_CUSTOMER_CAP = 20
LABELS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Group:
    """One segment x product (x customer) the campaign writes variants for; `searches` are the customer's
    recent searches (customer text: fenced in the prompt)."""

    segment: Segment | None
    product: Product | None
    customer: Customer | None = None
    searches: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int | None, int | None, int | None]:
        return (
            self.segment.pk if self.segment else None,
            self.product.pk if self.product else None,
            self.customer.pk if self.customer else None,
        )


@dataclass
class Slot:
    """One variant to write: its group, label and angle, and what its attempts produced."""

    group: Group
    label: str
    angle: str
    prompt: ChatPrompt | None = None
    copy: Copy = field(default_factory=Copy)
    results: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    passed_first: bool = False  # after the repair
    passed_first_unrepaired: bool = False
    repaired: bool = False  # the stored (last) attempt was repaired
    first_failures: list[str] = field(default_factory=list)


def popular_products(segment: Segment | None, n: int) -> list[Product]:
    """The segment's (or the shop's) most engaged-with active, in-stock products over the last
    POPULAR_DAYS days of events, each event weighted by its type as everywhere (`customers.behaviour`)."""
    events = Event.objects.filter(
        product__isnull=False, product__is_active=True, product__in_stock=True, type__in=list(EVENT_WEIGHTS),
    )
    if segment is not None:
        events = events.filter(
            Q(customer__profile__lifecycle_segment=segment) | Q(customer__profile__behaviour_segment=segment)
        )
    latest = events.aggregate(latest=Max("occurred_at"))["latest"]
    if latest is None:
        return []
    score = Sum(Case(
        *(When(type=kind, then=Value(weight)) for kind, weight in EVENT_WEIGHTS.items()),
        default=Value(0.0), output_field=FloatField(),
    ))
    ids = list(
        events.filter(occurred_at__gte=latest - timedelta(days=POPULAR_DAYS))
        .values("product_id").annotate(score=score).order_by("-score", "product_id")
        .values_list("product_id", flat=True)[:n]
    )
    found = Product.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def plan_groups(campaign: Campaign) -> list[Group]:
    """Segment x product groups, then one group per customer when personalising (see the module docstring)."""
    segments: list[Segment | None] = list(campaign.segments.order_by("pk")) or [None]
    chosen = list(campaign.products.order_by("pk")[:MAX_PRODUCTS])
    groups: list[Group] = []
    for segment in segments:
        products: Sequence[Product | None] = chosen
        if not chosen:
            products = (popular_products(segment, RECOMMENDED_PER_SEGMENT) if campaign.recommend_products else [])
            products = products or [None]
        groups += [Group(segment, product) for product in products]
    groups = groups[:MAX_GROUPS]
    if campaign.personalise_per_customer:
        groups += customer_groups(campaign, groups)
    return groups


def customer_groups(campaign: Campaign, groups: Sequence[Group]) -> list[Group]:
    """One group per customer, for the first PER_CUSTOMER_CAP of the audience (by id)."""
    customers = list(audience_queryset(campaign).select_related("profile")[:PER_CUSTOMER_CAP])
    segment_ids = {group.segment.pk: group.segment for group in groups if group.segment is not None}
    recommended = {
        row.customer_id: row.items for row in RecommendationSet.objects.filter(customer__in=customers)
    } if campaign.recommend_products else {}
    searches: dict[int, list[str]] = {}
    for cid, query in (
        Event.objects.filter(customer__in=customers, type=EventType.SEARCH).exclude(query="")
        .order_by("customer_id", "-occurred_at").values_list("customer_id", "query")
    ):
        if len(searches.setdefault(cid, [])) < 3:
            searches[cid].append(query)
    product_ids = {
        items[0].get("product") for items in recommended.values() if items and isinstance(items[0], dict)
    }
    products = Product.objects.in_bulk([pid for pid in product_ids if isinstance(pid, int)])
    fallback = next((group.product for group in groups if group.product is not None), None)
    out = []
    for customer in customers:
        profile = getattr(customer, "profile", None)
        segment = None
        if profile is not None:
            segment = segment_ids.get(profile.behaviour_segment_id or 0) or segment_ids.get(
                profile.lifecycle_segment_id or 0
            )
        items = recommended.get(customer.pk) or []
        product = products.get(items[0].get("product")) if items and isinstance(items[0], dict) else None
        out.append(Group(segment, product or fallback, customer, tuple(searches.get(customer.pk, []))))
    return out


def _existing_keys(campaign: Campaign) -> set[tuple[int | None, int | None, int | None, str]]:
    return set(campaign.variants.values_list("segment_id", "product_id", "customer_id", "label"))


def plan_slots(campaign: Campaign, groups: Sequence[Group]) -> tuple[list[Slot], int]:
    """The variants still missing (and how many already exist)."""
    existing = _existing_keys(campaign)
    slots: list[Slot] = []
    skipped = 0
    for group in groups:
        count = 1 if group.customer is not None else campaign.variants_per_group
        for index in range(count):
            label = LABELS[index]
            if (*group.key, label) in existing:
                skipped += 1
                continue
            angle = ANGLES[(index + (group.customer.pk if group.customer else 0)) % len(ANGLES)]
            slots.append(Slot(group, label, angle))
    return slots, skipped
