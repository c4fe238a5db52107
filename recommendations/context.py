"""What live ranking knows about a customer: profile vector, behavioural segment, interests, recent events,
recent purchases, and the products of their history that seed the neighbour sources.

History is read `customers.behaviour.HISTORY_DAYS` back (the latest HISTORY_EVENTS events), and a seed's
weight is the sum of its events' decayed weights: the same meaning of an event as the profile vector's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection

from catalog.models import ModelRole, ModelVersion, Product
from customers import behaviour
from customers.models import Customer, CustomerProfile, Event, EventType, Segment

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
    exists: bool = True  # False: no customer with this id (the API answers 404)
    recommender_version_id: int | None = None  # the active recommender version when the context was read


_CONTEXT_SQL = """
WITH wanted AS (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id)
SELECT 'customer', c.id, NULL::bigint, NULL::bigint, NULL::varchar, NULL::timestamptz, NULL::text, NULL::boolean,
       NULL::varchar, p.vector::text, s.id, s.name, s.is_active, p.interests, p.customer_id IS NOT NULL
FROM wanted w JOIN {customer} c ON c.id = w.id
LEFT JOIN {profile} p ON p.customer_id = c.id LEFT JOIN {segment} s ON s.id = p.behaviour_segment_id
UNION ALL
SELECT 'event', w.id, e.id, e.product_id, e.type, e.occurred_at, e.query, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM wanted w CROSS JOIN LATERAL (
    SELECT id, product_id, type, occurred_at, query FROM {event}
    WHERE customer_id = w.id AND type = ANY(%(types)s) AND occurred_at >= %(since)s AND occurred_at <= %(now)s
    ORDER BY occurred_at DESC, id DESC LIMIT %(limit)s
) e
UNION ALL
SELECT 'purchase', e.customer_id, e.id, e.product_id, NULL, e.occurred_at, NULL,
       coalesce(pr.attributes -> 'replenishable' = 'true'::jsonb, false), pr.category,
       NULL, NULL, NULL, NULL, NULL, NULL
FROM {event} e JOIN {product} pr ON pr.id = e.product_id
WHERE e.customer_id IN (SELECT id FROM wanted) AND e.type = ANY(%(purchases)s)
  AND e.occurred_at >= %(bought_since)s AND e.occurred_at <= %(now)s
UNION ALL
(SELECT 'version', id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
 FROM {version} WHERE role = %(role)s AND language = '' AND is_active ORDER BY id LIMIT 1)
"""


def load_contexts(customer_ids: Sequence[int], *, now: datetime) -> dict[int, CustomerContext]:
    """Profiles (with segment), recent events and recent purchases of these customers, and the active
    recommender version, in one query however many customers: a request's context is one round trip.
    Customers that do not exist get an empty context with `exists` False."""
    contexts = {cid: CustomerContext(cid, exists=False) for cid in customer_ids}
    sql = _CONTEXT_SQL.format(
        customer=Customer._meta.db_table, profile=CustomerProfile._meta.db_table, segment=Segment._meta.db_table,
        event=Event._meta.db_table, product=Product._meta.db_table, version=ModelVersion._meta.db_table,
    )
    params: dict[str, Any] = {
        "ids": list(customer_ids),
        "types": sorted(str(t) for t in (*behaviour.ENGAGEMENT_EVENTS, EventType.SEARCH)),
        "since": now - timedelta(days=behaviour.HISTORY_DAYS),
        "now": now,
        "limit": HISTORY_EVENTS,
        "purchases": sorted(str(t) for t in behaviour.PURCHASE_EVENTS),
        "bought_since": now - timedelta(days=PURCHASE_EXCLUSION_DAYS),
        "role": str(ModelRole.RECOMMENDER),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    events: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    bought: list[tuple[Any, ...]] = []
    version_id = None
    for part, customer_id, event_id, product_id, event_type, occurred_at, query, replenishable, category, vector_text, \
            segment_id, segment_name, segment_active, interests, has_profile in rows:
        if part == "customer":
            context = contexts[customer_id]
            context.exists = True
            if not has_profile:
                continue
            if vector_text is not None:
                vector = np.array(vector_text[1:-1].split(","), dtype=np.float32)  # as pgvector's field reads it
                norm = float(np.linalg.norm(vector))
                context.profile_vector = vector / norm if norm > 0 else None
            if segment_id is not None and segment_active:
                context.segment_id, context.segment_name = segment_id, segment_name
            if isinstance(interests, str):  # Django leaves jsonb undecoded for its JSONField
                interests = json.loads(interests)
            categories = (interests or {}).get("categories") or []
            context.interests = [str(entry[0]) for entry in categories if isinstance(entry, list | tuple) and entry]
        elif part == "version":
            version_id = customer_id
        elif part == "event":
            events[customer_id].append((occurred_at, event_id, product_id, event_type, query))
        else:
            bought.append((occurred_at, event_id, customer_id, product_id, replenishable, category))
    for customer_id, history in events.items():
        context = contexts[customer_id]
        history.sort(key=lambda row: (row[0], row[1]), reverse=True)  # recent first
        for occurred_at, _, product_id, event_type, query in history:
            context.events.append(HistoryEvent(product_id, event_type, occurred_at, query or ""))
            if event_type == EventType.SEARCH and query and query not in context.searches:
                context.searches.append(query)

    for context in contexts.values():
        context.recommender_version_id = version_id
    substitute_since = now - timedelta(days=SUBSTITUTE_DAYS)
    bought.sort(key=lambda row: (row[0], row[1]), reverse=True)  # latest first: a leaf keeps its latest purchase
    for occurred_at, _, customer_id, product_id, replenishable, category in bought:
        if not replenishable:
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
