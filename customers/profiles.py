"""Customer profiles: what each customer is interested in, how they buy, and where they are in their lifecycle.

Profile vector. A time-decayed, event-weighted mix of embeddings:
  - products the customer purchased (weight 3), added to the cart (2), viewed or clicked (1);
  - their searches (the query text embedded, weight 1);
  - their own reviews (the review's embedding from ReviewInsight, weight 2).
Each term is multiplied by 0.5 ** (age / HALF_LIFE_DAYS), age measured from `now`. The event terms are
kept as `vector_sum`/`weight_sum` as of `decayed_at`; because the decay is exponential, an incremental
update is exact: scale the stored sum by 0.5 ** ((now - decayed_at) / half-life) and add the terms of the
events newer than `last_event_id`. Reviews are few per customer and their embeddings arrive later (review
analysis is a separate job) or change when a review is edited, so they are not folded into the sum but
re-read on every update and added when `vector` (unit length) is formed. An event whose product had no
embedding when it was folded in is only counted again by a full rebuild (`rebuild_profiles`).

Interests (top categories at each level of the path, brands, keywords from searches and product titles,
weighted the same way), RFM and lifecycle are recomputed from all of a customer's events on each update:
they are aggregates, cheap in SQL, and exact.

Lifecycle rules, relative to `now` (first match wins):
  prospect  never bought
  new       first order within NEW_DAYS (30)
  loyal     at least LOYAL_MIN_ORDERS (3) orders and the last within ACTIVE_DAYS (90)
  active    last order within ACTIVE_DAYS (90)
  at_risk   last order 90-180 days ago (AT_RISK_DAYS)
  lapsed    last order more than 180 days ago
RFM score: recency, frequency (distinct orders) and monetary (revenue) quintiles 1-5 among customers who
bought, from cut points over all profiles (ties share a score; 5 = most recent / most orders / most spent).

Everything works on batches of customers with set-based queries (a handful of queries per batch, never
one per event), so a rebuild scales to 100,000 customers.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone
from scipy import sparse

from catalog.models import Product, ProductEmbedding, ReviewInsight

from .models import Customer, CustomerProfile, Event, EventType, Lifecycle, Segment

logger = logging.getLogger(__name__)

HALF_LIFE_DAYS = 30.0
"""Half-life of an event's weight in the profile vector and interests: a view 30 days old counts half as
much as one today. Not a setting (settings.py is outside this module's scope); change it here."""

EVENT_WEIGHTS: dict[str, float] = {
    EventType.PURCHASE: 3.0,
    EventType.ADD_TO_CART: 2.0,
    EventType.VIEW: 1.0,
    EventType.CLICK: 1.0,
}
SEARCH_WEIGHT = 1.0
REVIEW_WEIGHT = 2.0  # writing a review says more about a customer than viewing the product

NEW_DAYS = 30
ACTIVE_DAYS = 90
AT_RISK_DAYS = 180
LOYAL_MIN_ORDERS = 3

TOP_CATEGORIES = 10
TOP_BRANDS = 8
TOP_KEYWORDS = 15
BATCH = 2000  # customers per batch: ~2000 x 384 float32 sums (3 MB) plus their events' aggregates
MAX_HALF_LIVES = 1000  # clamp for the SQL power(): 0.5**1000 is still a float8, the clamp never matters

DIM = 384
Progress = Callable[[int], None]
EmbedTexts = Callable[[list[str]], np.ndarray]

_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]{2,}", re.UNICODE)
_STOP = {
    "and", "the", "for", "with", "from", "you", "your", "our", "set", "pack", "new", "size", "inch", "cm", "mm",
    "pcs", "piece", "pieces", "of", "in", "on", "to", "by", "or", "a", "an", "is", "it", "my", "me", "x",
}


def keywords(text: str) -> list[str]:
    """Lower-cased words of at least 3 letters, without stop words or numbers: what interests are named by."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (w.lower().strip("'-") for w in _WORD.findall(text or ""))
    return [w for w in words if len(w) >= 3 and w not in _STOP and w not in ENGLISH_STOP_WORDS]


def lifecycle_of(orders: int, first_order_at: datetime | None, last_order_at: datetime | None, now: datetime) -> str:
    """The lifecycle stage by the rules in the module docstring."""
    if not orders or last_order_at is None or first_order_at is None:
        return Lifecycle.PROSPECT
    since_first = (now - first_order_at).total_seconds() / 86400
    recency = (now - last_order_at).total_seconds() / 86400
    if since_first <= NEW_DAYS:
        return Lifecycle.NEW
    if orders >= LOYAL_MIN_ORDERS and recency <= ACTIVE_DAYS:
        return Lifecycle.LOYAL
    if recency <= ACTIVE_DAYS:
        return Lifecycle.ACTIVE
    if recency <= AT_RISK_DAYS:
        return Lifecycle.AT_RISK
    return Lifecycle.LAPSED


LIFECYCLE_DESCRIPTIONS = {
    Lifecycle.PROSPECT: "Never ordered.",
    Lifecycle.NEW: f"First order within the last {NEW_DAYS} days.",
    Lifecycle.LOYAL: f"At least {LOYAL_MIN_ORDERS} orders, the last within {ACTIVE_DAYS} days.",
    Lifecycle.ACTIVE: f"Ordered within the last {ACTIVE_DAYS} days.",
    Lifecycle.AT_RISK: f"Last order {ACTIVE_DAYS}-{AT_RISK_DAYS} days ago.",
    Lifecycle.LAPSED: f"Last order more than {AT_RISK_DAYS} days ago.",
}


def lifecycle_key(stage: str) -> str:
    return f"lifecycle-{stage.replace('_', '-')}"


def ensure_lifecycle_segments() -> dict[str, int]:
    """The lifecycle segments exist (stable keys), whatever the data; returns stage -> segment id."""
    ids = {}
    for stage in Lifecycle:
        segment, _ = Segment.objects.update_or_create(
            key=lifecycle_key(stage),
            defaults={
                "kind": Segment.Kind.LIFECYCLE,
                "name": str(stage.label),
                "description": LIFECYCLE_DESCRIPTIONS[stage],
                "is_active": True,
            },
        )
        ids[str(stage)] = segment.pk
    return ids


def refresh_lifecycle_sizes(now: datetime | None = None) -> dict[str, int]:
    """Count each lifecycle segment's members (one GROUP BY)."""
    now = now or timezone.now()
    ids = ensure_lifecycle_segments()
    counts = dict(
        CustomerProfile.objects.values_list("lifecycle").annotate(n=Count("pk")).values_list("lifecycle", "n")
    )
    for stage, segment_id in ids.items():
        Segment.objects.filter(pk=segment_id).update(size=counts.get(stage, 0), updated_at=now)
    return {stage: counts.get(stage, 0) for stage in ids}


# --- batch computation -------------------------------------------------------------------------------------


@dataclass
class _Run:
    """State shared by the batches of one run: caches of product facts and embeddings, the embedder."""

    now: datetime
    snapshot: int  # highest event id considered; later events wait for the next update
    embed_texts: EmbedTexts | None
    lifecycle_ids: dict[str, int]
    products: dict[int, tuple[list[str], str, list[str]]] = field(default_factory=dict)
    product_vectors: dict[int, np.ndarray | None] = field(default_factory=dict)
    query_vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def product_facts(self, ids: Iterable[int]) -> None:
        ids = set(ids)
        missing = [pk for pk in ids if pk not in self.products]
        for pk, title, category, brand in Product.objects.filter(pk__in=missing).values_list(
            "pk", "title", "category", "brand"
        ):
            levels = [part.strip() for part in category.split(">") if part.strip()]
            paths = [" > ".join(levels[: i + 1]) for i in range(len(levels))]
            self.products[pk] = (paths, brand.strip(), keywords(title))
        missing_vectors = [pk for pk in ids if pk not in self.product_vectors]
        for pk in missing_vectors:
            self.product_vectors[pk] = None
        for pk, vector in ProductEmbedding.objects.filter(product_id__in=missing_vectors).values_list(
            "product_id", "embedding"
        ):
            self.product_vectors[pk] = np.asarray(vector, dtype=np.float32)

    def queries(self, texts: Iterable[str]) -> None:
        missing = sorted({t for t in texts if t not in self.query_vectors})
        if not missing:
            return
        if self.embed_texts is None:
            from inference import registry

            embedder = registry.embedder()
            self.embed_texts = embedder.encode
        assert self.embed_texts is not None
        vectors = np.asarray(self.embed_texts(missing), dtype=np.float32)
        for text, vector in zip(missing, vectors, strict=True):
            self.query_vectors[text] = vector


def _decay_sql() -> str:
    return (
        "power(0.5::float8, LEAST(extract(epoch FROM (%(now)s - e.occurred_at))::float8 / %(half_life)s, %(clamp)s))"
    )


def _event_weights(customer_ids: Sequence[int], after: Sequence[int], run: _Run) -> tuple[list[Any], list[Any]]:
    """(customer, product, decayed weight) and (customer, query, decayed weight) for events with
    after[customer] < id <= snapshot."""
    event = Event._meta.db_table
    weights = " ".join(f"WHEN '{kind}' THEN {weight}::float8" for kind, weight in EVENT_WEIGHTS.items())
    params: dict[str, Any] = {
        "ids": list(customer_ids),
        "after": list(after),
        "snapshot": run.snapshot,
        "now": run.now,
        "half_life": HALF_LIFE_DAYS * 86400,
        "clamp": MAX_HALF_LIVES,
        "types": list(EVENT_WEIGHTS),
    }
    scope = f"""FROM {event} e JOIN unnest(%(ids)s::bigint[], %(after)s::bigint[]) AS c(cid, after)
                ON e.customer_id = c.cid AND e.id > c.after AND e.id <= %(snapshot)s"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.customer_id, e.product_id, SUM((CASE e.type {weights} ELSE 0 END) * {_decay_sql()})
                {scope} WHERE e.type = ANY(%(types)s) AND e.product_id IS NOT NULL
                GROUP BY e.customer_id, e.product_id""",
            params,
        )
        products = cursor.fetchall()
        cursor.execute(
            f"""SELECT e.customer_id, lower(btrim(e.query)), SUM({SEARCH_WEIGHT}::float8 * {_decay_sql()})
                {scope} WHERE e.type = 'search' AND btrim(e.query) <> ''
                GROUP BY e.customer_id, lower(btrim(e.query))""",
            params,
        )
        searches = cursor.fetchall()
    return products, searches


def _sum_vectors(
    customer_ids: Sequence[int], products: list[Any], searches: list[Any], run: _Run
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums (n, DIM) and weight sums (n,) of the product and search terms."""
    row = {cid: i for i, cid in enumerate(customer_ids)}
    n = len(customer_ids)
    run.product_facts(p for _, p, _ in products)
    run.queries(q for _, q, _ in searches)
    terms: list[tuple[int, np.ndarray, float]] = []
    for c, p, w in products:
        vector = run.product_vectors[p]
        if vector is not None:
            terms.append((row[c], vector, float(w)))
    terms += [(row[c], run.query_vectors[q], float(w)) for c, q, w in searches]
    sums = np.zeros((n, DIM), dtype=np.float64)
    weight_sums = np.zeros(n, dtype=np.float64)
    if terms:
        rows = np.fromiter((t[0] for t in terms), dtype=np.int64, count=len(terms))
        values = np.fromiter((t[2] for t in terms), dtype=np.float64, count=len(terms))
        matrix = np.stack([t[1] for t in terms]).astype(np.float64)
        weights = sparse.csr_matrix((values, (rows, np.arange(len(terms)))), shape=(n, len(terms)))
        sums = np.asarray(weights @ matrix)
        np.add.at(weight_sums, rows, values)
    return sums, weight_sums


def _review_sums(customer_ids: Sequence[int], run: _Run) -> np.ndarray:
    """Decayed, weighted sums of the customer's own review embeddings (n, DIM)."""
    row = {cid: i for i, cid in enumerate(customer_ids)}
    sums = np.zeros((len(customer_ids), DIM), dtype=np.float64)
    half_life = HALF_LIFE_DAYS * 86400
    for cid, vector, written in ReviewInsight.objects.filter(
        review__customer_id__in=customer_ids, embedding__isnull=False
    ).values_list("review__customer_id", "embedding", "review__created_at"):
        age = min((run.now - written).total_seconds() / half_life, MAX_HALF_LIVES)
        sums[row[cid]] += REVIEW_WEIGHT * 0.5**age * np.asarray(vector, dtype=np.float64)
    return sums


def _top(weights: dict[str, float], total: float, limit: int) -> list[list[Any]]:
    # ties (a customer who only shops one leaf has every level at the same weight): the specific one first
    ranked = sorted(weights.items(), key=lambda item: (-round(item[1], 9), -item[0].count(">"), item[0]))[:limit]
    return [[name, round(weight / total, 4)] for name, weight in ranked if total > 0]


def _interests(customer_ids: Sequence[int], products: list[Any], searches: list[Any], run: _Run) -> dict[int, Any]:
    """Top categories (every level of the path), brands and keywords per customer, as shares of their
    decayed activity (category and brand shares of product events; keyword shares of all keyword mass)."""
    run.product_facts(p for _, p, _ in products)
    categories: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    brands: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    words: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    totals: dict[int, float] = defaultdict(float)
    for cid, pid, weight in products:
        paths, brand, title_words = run.products[pid]
        w = float(weight)
        totals[cid] += w
        for path in paths:
            categories[cid][path] += w
        if brand:
            brands[cid][brand] += w
        for word in set(title_words):
            words[cid][word] += w
    for cid, query, weight in searches:
        for word in set(keywords(query)):
            words[cid][word] += float(weight)
    result = {}
    for cid in customer_ids:
        word_total = sum(words[cid].values()) if cid in words else 0.0
        result[cid] = {
            "categories": _top(categories.get(cid, {}), totals.get(cid, 0.0), TOP_CATEGORIES),
            "brands": _top(brands.get(cid, {}), totals.get(cid, 0.0), TOP_BRANDS),
            "keywords": _top(words.get(cid, {}), word_total, TOP_KEYWORDS),
        }
    return result


_RfmRow = tuple[int, Any, datetime | None, datetime | None, datetime | None]


def _rfm(customer_ids: Sequence[int]) -> dict[int, _RfmRow]:
    """Orders (distinct order ids of purchases; a purchase without one is an order of its own timestamp),
    revenue, first and last order, last event of any type."""
    event = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT customer_id,
                       COUNT(DISTINCT COALESCE(NULLIF(order_id, ''), 'at:' || occurred_at::text))
                           FILTER (WHERE type = 'purchase'),
                       COALESCE(SUM(value) FILTER (WHERE type = 'purchase'), 0),
                       MIN(occurred_at) FILTER (WHERE type = 'purchase'),
                       MAX(occurred_at) FILTER (WHERE type = 'purchase'),
                       MAX(occurred_at)
                FROM {event} WHERE customer_id = ANY(%s) GROUP BY customer_id""",
            [list(customer_ids)],
        )
        return {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in cursor.fetchall()}


def _unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else None


def _process_batch(customer_ids: list[int], run: _Run, *, incremental: bool) -> None:
    existing = {
        p.customer_id: p
        for p in CustomerProfile.objects.filter(customer_id__in=customer_ids).only(
            "customer_id", "vector_sum", "weight_sum", "decayed_at", "last_event_id"
        )
    }
    zeros = [0] * len(customer_ids)
    all_products, all_searches = _event_weights(customer_ids, zeros, run)
    if incremental:
        after = [existing[c].last_event_id if c in existing else 0 for c in customer_ids]
        new_products, new_searches = _event_weights(customer_ids, after, run)
        sums, weight_sums = _sum_vectors(customer_ids, new_products, new_searches, run)
        for i, cid in enumerate(customer_ids):
            old = existing.get(cid)
            if old is None or old.vector_sum is None or old.decayed_at is None or not old.last_event_id:
                continue
            age = (run.now - old.decayed_at).total_seconds() / (HALF_LIFE_DAYS * 86400)
            factor = 0.5 ** min(age, MAX_HALF_LIVES)
            sums[i] += factor * np.asarray(old.vector_sum, dtype=np.float64)
            weight_sums[i] += factor * old.weight_sum
    else:
        sums, weight_sums = _sum_vectors(customer_ids, all_products, all_searches, run)
    reviews = _review_sums(customer_ids, run)
    interests = _interests(customer_ids, all_products, all_searches, run)
    rfm = _rfm(customer_ids)
    rows = []
    for i, cid in enumerate(customer_ids):
        orders, revenue, first, last, seen = rfm.get(cid, (0, 0, None, None, None))
        stage = lifecycle_of(orders, first, last, run.now)
        has_sum = weight_sums[i] > 0
        rows.append(
            CustomerProfile(
                customer_id=cid,
                vector=_unit(sums[i] + reviews[i]),
                vector_sum=sums[i].astype(np.float32) if has_sum else None,
                weight_sum=float(weight_sums[i]),
                decayed_at=run.now,
                last_event_id=run.snapshot,
                interests=interests[cid],
                first_order_at=first,
                last_order_at=last,
                last_seen_at=seen,
                orders=orders,
                revenue=revenue,
                recency_days=None if last is None else round(max(0.0, (run.now - last).total_seconds() / 86400), 3),
                lifecycle=stage,
                lifecycle_segment_id=run.lifecycle_ids[stage],
                updated_at=run.now,
            )
        )
    fields = [
        "vector", "vector_sum", "weight_sum", "decayed_at", "last_event_id", "interests", "first_order_at",
        "last_order_at", "last_seen_at", "orders", "revenue", "recency_days", "lifecycle", "lifecycle_segment",
        "updated_at",
    ]
    with transaction.atomic():
        CustomerProfile.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["customer"], update_fields=fields
        )


# --- RFM scores --------------------------------------------------------------------------------------------


def rfm_cut_points() -> dict[str, list[float]] | None:
    """Quintile cut points of recency, orders and revenue over customers who bought (None: nobody did)."""
    table = CustomerProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency_days),
                       percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY orders),
                       percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY revenue)
                FROM {table} WHERE orders > 0 AND recency_days IS NOT NULL"""
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return {"recency": list(row[0]), "orders": list(row[1]), "revenue": list(row[2])}


def score_rfm(customer_ids: Sequence[int] | None = None) -> dict[str, list[float]] | None:
    """Write `rfm_score` ("R F M", each 1-5) for the given customers (default all) in one UPDATE."""
    cuts = rfm_cut_points()
    table = CustomerProfile._meta.db_table

    def bucket(column: str, name: str) -> str:
        return "(1 + " + " + ".join(f"({column} > (%({name})s::float8[])[{i}])::int" for i in range(1, 5)) + ")"

    scope = "" if customer_ids is None else " AND customer_id = ANY(%(ids)s)"
    params: dict[str, Any] = {"ids": list(customer_ids or [])}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET rfm_score = '' WHERE (orders = 0 OR recency_days IS NULL) AND rfm_score <> ''{scope}",
            params,
        )
        if cuts is None:
            return None
        params.update({"r": cuts["recency"], "f": cuts["orders"], "m": cuts["revenue"]})
        cursor.execute(
            f"""UPDATE {table} SET rfm_score =
                    (6 - {bucket("recency_days", "r")})::text || {bucket("orders", "f")}::text
                    || {bucket("revenue", "m")}::text
                WHERE orders > 0 AND recency_days IS NOT NULL{scope}""",
            params,
        )
    return cuts


# --- entry points ------------------------------------------------------------------------------------------


def _run(now: datetime | None, embed_texts: EmbedTexts | None) -> _Run:
    snapshot = Event.objects.aggregate(m=Max("pk"))["m"] or 0
    return _Run(
        now=now or timezone.now(), snapshot=snapshot, embed_texts=embed_texts, lifecycle_ids=ensure_lifecycle_segments()
    )


def rebuild_profiles(
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    set_total: Callable[[int], None] | None = None,
    embed_texts: EmbedTexts | None = None,
    batch_size: int = BATCH,
) -> dict[str, Any]:
    """Recompute every customer's profile from all their events, BATCH customers per transaction, then
    RFM scores and lifecycle segment sizes. `embed_texts` embeds search queries (default: the embedder)."""
    run = _run(now, embed_texts)
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    if set_total:
        set_total(len(ids))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        _process_batch(chunk, run, incremental=False)
        if progress:
            progress(len(chunk))
    score_rfm()
    sizes = refresh_lifecycle_sizes(run.now)
    return {"profiles": len(ids), "last_event_id": run.snapshot, "lifecycle": sizes}


def customers_with_new_events() -> list[int]:
    """Customers with an event newer than their profile's `last_event_id` (or without a profile)."""
    event, profile = Event._meta.db_table, CustomerProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT e.customer_id FROM {event} e LEFT JOIN {profile} p ON p.customer_id = e.customer_id
                WHERE e.id > COALESCE(p.last_event_id, 0) ORDER BY e.customer_id"""
        )
        return [row[0] for row in cursor.fetchall()]


def update_profiles(
    customer_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    set_total: Callable[[int], None] | None = None,
    embed_texts: EmbedTexts | None = None,
    batch_size: int = BATCH,
) -> dict[str, Any]:
    """Fold new events into the given customers' profiles (default: every customer with new events);
    interests, RFM and lifecycle are recomputed for them; RFM scores use the cut points of all profiles."""
    run = _run(now, embed_texts)
    if customer_ids is None:
        ids = customers_with_new_events()
    else:
        wanted = sorted({int(pk) for pk in customer_ids})
        ids = list(Customer.objects.filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True))
    if set_total:
        set_total(len(ids))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        _process_batch(chunk, run, incremental=True)
        if progress:
            progress(len(chunk))
    if ids:
        score_rfm(ids)
        refresh_lifecycle_sizes(run.now)
    return {"profiles": len(ids), "last_event_id": run.snapshot}


def half_life_factor(days: float) -> float:
    """Weight left after `days` (documentation and tests)."""
    return math.pow(0.5, days / HALF_LIFE_DAYS)
