"""What live ranking knows about a customer: profile vector, behavioural segment, interests, recent events,
recent purchases, and the products of their history that seed the neighbour sources.

History is read `customers.behaviour.HISTORY_DAYS` back (the latest HISTORY_EVENTS events), and a seed's
weight is the sum of its events' decayed weights: the same meaning of an event as the profile vector's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection

from customers import behaviour
from customers.models import CustomerProfile, Event, EventType

PURCHASE_EXCLUSION_DAYS = 90  # bought within this window: not recommended again (unless replenishable)
# Bought within this window: other products of the same leaf category (its substitutes) go below everything
# else, and "bought together" neighbours of the purchase are boosted (unless the leaf is replenishable).
SUBSTITUTE_DAYS = 30
LEAF_SQL = "lower(btrim(regexp_replace({column}, '^.*>', '')))"
"""SQL for `leaf` of a category column."""
HISTORY_EVENTS = 100  # most recent events read per customer
HISTORY_ITEMS = 30  # distinct products used as seeds for item-item / co-purchase / ALS fold-in

VERBS = {
    EventType.PURCHASE: "bought",
    EventType.ADD_TO_CART: "added to your cart",
    EventType.VIEW: "viewed",
    EventType.CLICK: "clicked",
}
"""What the customer did to a seed product, as the explanation says it ("Because you viewed ...")."""


@dataclass
class HistoryEvent:
    product_id: int | None
    type: str
    occurred_at: datetime
    query: str


@dataclass
class CustomerContext:
    customer_id: int
    profile_vector: np.ndarray | None = None
    segment_id: int | None = None
    segment_name: str = ""
    interests: list[str] = field(default_factory=list)  # top categories, best first
    events: list[HistoryEvent] = field(default_factory=list)  # recent first
    purchased: set[int] = field(default_factory=set)  # bought in the exclusion window, not replenishable
    purchased_leaves: dict[int, str] = field(default_factory=dict)  # product in `purchased` -> its leaf
    # leaf -> the product bought there most recently, within SUBSTITUTE_DAYS (replenishable products left out)
    bought_leaves: dict[str, int] = field(default_factory=dict)
    searches: list[str] = field(default_factory=list)  # recent first, distinct


def load_contexts(customer_ids: Sequence[int], *, now: datetime) -> dict[int, CustomerContext]:
    """Profiles, recent events and recent purchases of these customers: three queries however many."""
    contexts = {cid: CustomerContext(cid) for cid in customer_ids}
    profiles = CustomerProfile.objects.filter(customer_id__in=customer_ids).select_related("behaviour_segment").only(
        "customer_id", "vector", "interests", "behaviour_segment__id", "behaviour_segment__name",
        "behaviour_segment__is_active",
    )
    for profile in profiles:
        context = contexts[profile.customer_id]
        if profile.vector is not None:
            vector = np.asarray(profile.vector, dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            context.profile_vector = vector / norm if norm > 0 else None
        segment = profile.behaviour_segment
        if segment is not None and segment.is_active:
            context.segment_id, context.segment_name = segment.pk, segment.name
        categories = (profile.interests or {}).get("categories") or []
        context.interests = [str(entry[0]) for entry in categories if isinstance(entry, list | tuple) and entry]

    types = sorted(str(t) for t in (*behaviour.ENGAGEMENT_EVENTS, EventType.SEARCH))
    since = now - timedelta(days=behaviour.HISTORY_DAYS)
    if len(customer_ids) == 1:
        rows: Iterable[tuple[Any, ...]] = (
            Event.objects.filter(customer_id=customer_ids[0], type__in=types, occurred_at__gte=since,
                                 occurred_at__lte=now)
            .order_by("-occurred_at", "-id")
            .values_list("customer_id", "product_id", "type", "occurred_at", "query")[:HISTORY_EVENTS]
        )
    else:  # the batch job: the latest HISTORY_EVENTS per customer, in one window-function query
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT customer_id, product_id, type, occurred_at, query FROM (
                    SELECT customer_id, product_id, type, occurred_at, query,
                           row_number() OVER (PARTITION BY customer_id ORDER BY occurred_at DESC, id DESC) AS n
                    FROM {Event._meta.db_table}
                    WHERE customer_id = ANY(%s) AND type = ANY(%s) AND occurred_at >= %s AND occurred_at <= %s
                ) recent WHERE n <= %s ORDER BY customer_id, occurred_at DESC
                """,
                [list(customer_ids), types, since, now, HISTORY_EVENTS],
            )
            rows = cursor.fetchall()
    for customer_id, product_id, event_type, occurred_at, query in rows:
        context = contexts[customer_id]
        context.events.append(HistoryEvent(product_id, event_type, occurred_at, query or ""))
        if event_type == EventType.SEARCH and query and query not in context.searches:
            context.searches.append(query)

    bought = (
        Event.objects.filter(
            customer_id__in=customer_ids, type__in=behaviour.PURCHASE_EVENTS, product__isnull=False,
            occurred_at__gte=now - timedelta(days=PURCHASE_EXCLUSION_DAYS), occurred_at__lte=now,
        )
        .order_by("-occurred_at")
        .values_list("customer_id", "product_id", "product__attributes__replenishable", "product__category",
                     "occurred_at")
    )
    substitute_since = now - timedelta(days=SUBSTITUTE_DAYS)
    for customer_id, product_id, replenishable, category, occurred_at in bought:
        if replenishable is not True:
            context = contexts[customer_id]
            context.purchased.add(product_id)
            context.purchased_leaves[product_id] = leaf(category)
            if occurred_at >= substitute_since and leaf(category):
                context.bought_leaves.setdefault(leaf(category), product_id)
    return contexts


def leaf(category: str) -> str:
    """The last level of a category path, lower case: "Shoes > Trail" -> "trail" (where substitutes meet)."""
    return category.rsplit(">", 1)[-1].strip().lower()


def history_seeds(context: CustomerContext, now: datetime) -> tuple[dict[int, float], dict[int, str]]:
    """The customer's HISTORY_ITEMS strongest products (product id -> summed decayed event weight) and, per
    product, the verb of its strongest event type ("bought" beats "added to your cart" beats "viewed")."""
    seeds: dict[int, float] = defaultdict(float)
    verbs: dict[int, str] = {}
    strength: dict[int, float] = {}
    for event in context.events:
        if event.product_id is None or event.type not in behaviour.ENGAGEMENT_EVENTS:
            continue
        age_days = max((now - event.occurred_at).total_seconds() / 86400.0, 0.0)
        seeds[event.product_id] += behaviour.decayed_weight(event.type, age_days)
        type_weight = behaviour.event_weight(event.type)
        if type_weight > strength.get(event.product_id, 0.0):
            strength[event.product_id] = type_weight
            verbs[event.product_id] = VERBS.get(EventType(event.type), "viewed")
    top = sorted(seeds.items(), key=lambda kv: -kv[1])[:HISTORY_ITEMS]
    return dict(top), verbs
