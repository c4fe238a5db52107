"""The profile computation as it was before the vectorised rebuild (customers/profiles.py and interests.py at
7c146b4), kept as the oracle the fast path is compared with: one row per (customer, product) and
(customer, query) summed in Python dictionaries and one embedding stacked per term. It writes nothing; it
returns what a profile holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection
from scipy import sparse

from catalog.models import Product, ProductEmbedding, ReviewInsight
from customers import behaviour
from customers.interests import keywords
from customers.lifecycle import lifecycle_of
from customers.models import CarriedProductWeight, CarriedSearchWeight, Event, EventType
from customers.queries import EmbedTexts, embed_queries
from customers.rfm import order_facts

DIM = 384
Facts = tuple[list[str], str, list[str]]


def _event_weights(
    customer_ids: Sequence[int], snapshot: int, now: datetime
) -> tuple[list[tuple[int, int, float]], list[tuple[int, str, float]]]:
    event = Event._meta.db_table
    decay = behaviour.decay_sql("e.occurred_at", "%(now)s")
    kept = behaviour.decay_sql("c.as_of", "%(now)s")
    params: dict[str, Any] = {
        "ids": list(customer_ids), "snapshot": snapshot, "now": now,
        "types": sorted(str(t) for t in behaviour.ENGAGEMENT_EVENTS), "search": str(EventType.SEARCH),
    }
    scope = f"FROM {event} e WHERE e.customer_id = ANY(%(ids)s) AND e.id <= %(snapshot)s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT cid, pid, SUM(w) FROM (
                    SELECT e.customer_id AS cid, e.product_id AS pid, {behaviour.weight_sql("e.type")} * {decay} AS w
                    {scope} AND e.type = ANY(%(types)s) AND e.product_id IS NOT NULL
                    UNION ALL SELECT c.customer_id, c.product_id, c.weight * {kept}
                    FROM {CarriedProductWeight._meta.db_table} c WHERE c.customer_id = ANY(%(ids)s)) t
                GROUP BY cid, pid""",
            params,
        )
        products = cursor.fetchall()
        cursor.execute(
            f"""SELECT cid, q, SUM(w) FROM (
                    SELECT e.customer_id AS cid, lower(btrim(e.query)) AS q,
                           {behaviour.SEARCH_WEIGHT!r}::float8 * {decay} AS w
                    {scope} AND e.type = %(search)s AND btrim(e.query) <> ''
                    UNION ALL SELECT c.customer_id, c.query, c.weight * {kept}
                    FROM {CarriedSearchWeight._meta.db_table} c WHERE c.customer_id = ANY(%(ids)s)) t
                GROUP BY cid, q""",
            params,
        )
        searches = cursor.fetchall()
    return products, searches


def _facts(ids: set[int]) -> dict[int, Facts]:
    known = {}
    rows = Product.objects.filter(pk__in=ids).values_list("pk", "title", "category", "brand")
    for pk, title, category, brand in rows:
        levels = [part.strip() for part in category.split(">") if part.strip()]
        known[pk] = ([" > ".join(levels[: i + 1]) for i in range(len(levels))], brand.strip(), keywords(title))
    return known


def _top(weights: dict[str, float], total: float, limit: int) -> list[list[Any]]:
    ranked = sorted(weights.items(), key=lambda item: (-round(item[1], 9), -item[0].count(">"), item[0]))[:limit]
    return [[name, round(weight / total, 4)] for name, weight in ranked if total > 0]


def _interests(
    customer_ids: Sequence[int], products: list[tuple[int, int, float]], searches: list[tuple[int, str, float]]
) -> dict[int, Any]:
    facts = _facts({p for _, p, _ in products})
    categories: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    brands: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    words: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    totals: dict[int, float] = defaultdict(float)
    for cid, pid, weight in products:
        paths, brand, title_words = facts[pid]
        totals[cid] += float(weight)
        for path in paths:
            categories[cid][path] += float(weight)
        if brand:
            brands[cid][brand] += float(weight)
        for word in set(title_words):
            words[cid][word] += float(weight)
    for cid, query, weight in searches:
        for word in set(keywords(query)):
            words[cid][word] += float(weight)
    return {
        cid: {
            "categories": _top(categories.get(cid, {}), totals.get(cid, 0.0), 10),
            "brands": _top(brands.get(cid, {}), totals.get(cid, 0.0), 8),
            "keywords": _top(words.get(cid, {}), sum(words[cid].values()) if cid in words else 0.0, 15),
        }
        for cid in customer_ids
    }


def _sums(
    customer_ids: Sequence[int], products: list[tuple[int, int, float]], searches: list[tuple[int, str, float]],
    embed_texts: EmbedTexts | None,
) -> tuple[np.ndarray, np.ndarray]:
    row = {cid: i for i, cid in enumerate(customer_ids)}
    vectors = {
        pk: np.asarray(v, dtype=np.float32)
        for pk, v in ProductEmbedding.objects.filter(product_id__in={p for _, p, _ in products}).values_list(
            "product_id", "embedding"
        )
    }
    queries = sorted({q for _, q, _ in searches})
    query_vectors = dict(zip(queries, embed_queries(queries, embed_texts), strict=True)) if queries else {}
    terms = [(row[c], vectors[p], float(w)) for c, p, w in products if p in vectors]
    terms += [(row[c], query_vectors[q], float(w)) for c, q, w in searches]
    sums = np.zeros((len(customer_ids), DIM))
    weight_sums = np.zeros(len(customer_ids))
    if terms:
        rows = np.array([t[0] for t in terms])
        values = np.array([t[2] for t in terms])
        weights = sparse.csr_matrix((values, (rows, np.arange(len(terms)))), shape=(len(customer_ids), len(terms)))
        sums = np.asarray(weights @ np.stack([t[1] for t in terms]).astype(np.float64))
        np.add.at(weight_sums, rows, values)
    return sums, weight_sums


def reference_profiles(
    customer_ids: Sequence[int], *, now: datetime, snapshot: int, embed_texts: EmbedTexts | None
) -> dict[int, dict[str, Any]]:
    """What a full rebuild at `now` of events up to `snapshot` gives each customer (RFM score aside)."""
    products, searches = _event_weights(customer_ids, snapshot, now)
    sums, weight_sums = _sums(customer_ids, products, searches, embed_texts)
    row = {cid: i for i, cid in enumerate(customer_ids)}
    reviews = np.zeros((len(customer_ids), DIM))
    for cid, vector, written in ReviewInsight.objects.filter(
        review__customer_id__in=customer_ids, embedding__isnull=False
    ).values_list("review__customer_id", "embedding", "review__created_at"):
        age = (now - written).total_seconds() / 86400
        reviews[row[cid]] += behaviour.REVIEW_WEIGHT * behaviour.decay(age) * np.asarray(vector, dtype=np.float64)
    interest = _interests(customer_ids, products, searches)
    orders_of = order_facts(customer_ids)
    result = {}
    for i, cid in enumerate(customer_ids):
        orders, revenue, first, last, seen = orders_of.get(cid, (0, 0, None, None, None))
        mixed = sums[i] + reviews[i]
        norm = float(np.linalg.norm(mixed))
        result[cid] = {
            "vector": (mixed / norm).astype(np.float32) if norm > 0 else None,
            "vector_sum": sums[i].astype(np.float32) if weight_sums[i] > 0 else None,
            "weight_sum": float(weight_sums[i]),
            "interests": interest[cid],
            "orders": orders, "revenue": revenue, "first_order_at": first, "last_order_at": last,
            "last_seen_at": seen,
            "recency_days": None if last is None else round(max(0.0, (now - last).total_seconds() / 86400), 3),
            "lifecycle": lifecycle_of(orders, first, last, now),
        }
    return result
