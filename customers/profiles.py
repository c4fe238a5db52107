"""Customer profiles: what each customer is interested in, how they buy, and where they are in their lifecycle.

Profile vector. A time-decayed, event-weighted mix of embeddings (weights and half-life: `behaviour.py`):
  - products the customer purchased, added to the cart, viewed or clicked (`behaviour.EVENT_WEIGHTS`);
  - their searches (the query text embedded, `SEARCH_WEIGHT`);
  - their own reviews (the review's embedding from ReviewInsight, `REVIEW_WEIGHT`).
Each term is multiplied by `behaviour.decay(age)`, age measured from `now`. The event terms are kept as
`vector_sum`/`weight_sum` as of `decayed_at`; because the decay is exponential, an incremental update is
exact: scale the stored sum by the decay of (now - decayed_at) and add the terms of the events newer than
`last_event_id`. Reviews are few per customer and their embeddings arrive later (review analysis is a
separate job) or change when a review is edited, so they are not folded into the sum but re-read on every
update and added when `vector` (unit length) is formed. An event whose product had no embedding when it
was folded in is only counted again by a full rebuild (`rebuild_profiles`).

Interests (`interests.py`), orders and RFM (`rfm.py`) and the lifecycle stage (`lifecycle.py`) are
recomputed from all of a customer's events on each update: they are aggregates, cheap in SQL, and exact.
"All events" includes what retention carried over from deleted ones (`retention.py`: decayed weights per
product and query, order totals), read in the same statement as the events, so a rebuild after a purge
gives the profile it gave before.

Everything works on batches of customers with set-based queries (a handful of queries per batch, never
one per event), so a rebuild scales to 100,000 customers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from scipy import sparse

from catalog.models import ProductEmbedding, ReviewInsight
from core.progress import NO_PROGRESS, Progress

from . import behaviour
from .interests import ProductFacts, ProductWeights, SearchWeights, interests
from .lifecycle import ensure_lifecycle_segments, lifecycle_of, refresh_lifecycle_sizes
from .models import CarriedProductWeight, CarriedSearchWeight, Customer, CustomerProfile, Event, EventType
from .queries import EmbedTexts, embed_queries
from .rfm import order_facts, score_rfm

logger = logging.getLogger(__name__)

BATCH = 2000  # customers per batch: ~2000 x 384 float32 sums (3 MB) plus their events' aggregates
DIM = 384


@dataclass
class _Run:
    """State shared by the batches of one run: product facts and embeddings read so far, the embedder."""

    now: datetime
    snapshot: int  # highest event id considered; later events wait for the next update
    embed_texts: EmbedTexts | None  # None: the shop's embedding model
    lifecycle_ids: dict[str, int]
    products: dict[int, ProductFacts] = field(default_factory=dict)
    product_vectors: dict[int, np.ndarray | None] = field(default_factory=dict)

    def load_product_vectors(self, ids: Iterable[int]) -> None:
        missing = [pk for pk in set(ids) if pk not in self.product_vectors]
        for pk in missing:
            self.product_vectors[pk] = None
        for pk, vector in ProductEmbedding.objects.filter(product_id__in=missing).values_list(
            "product_id", "embedding"
        ):
            self.product_vectors[pk] = np.asarray(vector, dtype=np.float32)


def _event_weights(
    customer_ids: Sequence[int], after: Sequence[int], run: _Run, *, carried: bool = False
) -> tuple[ProductWeights, SearchWeights]:
    """(customer, product, decayed weight) and (customer, query, decayed weight) for events with
    after[customer] < id <= snapshot; with `carried`, plus the weights retention kept of deleted events."""
    event = Event._meta.db_table
    decay = behaviour.decay_sql("e.occurred_at", "%(now)s")
    kept = behaviour.decay_sql("c.as_of", "%(now)s")
    carried_products = carried_searches = ""
    if carried:
        carried_products = f"""UNION ALL SELECT c.customer_id, c.product_id, c.weight * {kept}
            FROM {CarriedProductWeight._meta.db_table} c WHERE c.customer_id = ANY(%(ids)s)"""
        carried_searches = f"""UNION ALL SELECT c.customer_id, c.query, c.weight * {kept}
            FROM {CarriedSearchWeight._meta.db_table} c WHERE c.customer_id = ANY(%(ids)s)"""
    params: dict[str, Any] = {
        "ids": list(customer_ids),
        "after": list(after),
        "snapshot": run.snapshot,
        "now": run.now,
        "types": sorted(str(t) for t in behaviour.ENGAGEMENT_EVENTS),
        "search": str(EventType.SEARCH),
    }
    scope = f"""FROM {event} e JOIN unnest(%(ids)s::bigint[], %(after)s::bigint[]) AS c(cid, after)
                ON e.customer_id = c.cid AND e.id > c.after AND e.id <= %(snapshot)s"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT cid, pid, SUM(w) FROM (
                    SELECT e.customer_id AS cid, e.product_id AS pid, {behaviour.weight_sql("e.type")} * {decay} AS w
                    {scope} WHERE e.type = ANY(%(types)s) AND e.product_id IS NOT NULL
                    {carried_products}) t
                GROUP BY cid, pid""",
            params,
        )
        products = cursor.fetchall()
        cursor.execute(
            f"""SELECT cid, q, SUM(w) FROM (
                    SELECT e.customer_id AS cid, lower(btrim(e.query)) AS q,
                           {behaviour.SEARCH_WEIGHT!r}::float8 * {decay} AS w
                    {scope} WHERE e.type = %(search)s AND btrim(e.query) <> ''
                    {carried_searches}) t
                GROUP BY cid, q""",
            params,
        )
        searches = cursor.fetchall()
    return products, searches


def _sum_vectors(
    customer_ids: Sequence[int], products: ProductWeights, searches: SearchWeights, run: _Run
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums (n, DIM) and weight sums (n,) of the product and search terms."""
    row = {cid: i for i, cid in enumerate(customer_ids)}
    n = len(customer_ids)
    run.load_product_vectors(p for _, p, _ in products)
    queries = sorted({q for _, q, _ in searches})
    query_vectors = dict(zip(queries, embed_queries(queries, run.embed_texts), strict=True)) if queries else {}
    terms: list[tuple[int, np.ndarray, float]] = []
    for c, p, w in products:
        vector = run.product_vectors[p]
        if vector is not None:
            terms.append((row[c], vector, float(w)))
    terms += [(row[c], query_vectors[q], float(w)) for c, q, w in searches]
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
    for cid, vector, written in ReviewInsight.objects.filter(
        review__customer_id__in=customer_ids, embedding__isnull=False
    ).values_list("review__customer_id", "embedding", "review__created_at"):
        age_days = (run.now - written).total_seconds() / 86400
        sums[row[cid]] += behaviour.REVIEW_WEIGHT * behaviour.decay(age_days) * np.asarray(vector, dtype=np.float64)
    return sums


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
    all_products, all_searches = _event_weights(customer_ids, zeros, run, carried=True)
    if incremental:
        after = [existing[c].last_event_id if c in existing else 0 for c in customer_ids]
        new_products, new_searches = _event_weights(customer_ids, after, run)
        sums, weight_sums = _sum_vectors(customer_ids, new_products, new_searches, run)
        for i, cid in enumerate(customer_ids):
            old = existing.get(cid)
            if old is None or old.vector_sum is None or old.decayed_at is None or not old.last_event_id:
                continue
            factor = behaviour.decay((run.now - old.decayed_at).total_seconds() / 86400)
            sums[i] += factor * np.asarray(old.vector_sum, dtype=np.float64)
            weight_sums[i] += factor * old.weight_sum
    else:
        sums, weight_sums = _sum_vectors(customer_ids, all_products, all_searches, run)
    reviews = _review_sums(customer_ids, run)
    interest = interests(customer_ids, all_products, all_searches, run.products)
    orders_of = order_facts(customer_ids)
    rows = []
    for i, cid in enumerate(customer_ids):
        orders, revenue, first, last, seen = orders_of.get(cid, (0, 0, None, None, None))
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
                interests=interest[cid],
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


# --- entry points ------------------------------------------------------------------------------------------


def _run(now: datetime | None, embed_texts: EmbedTexts | None) -> _Run:
    snapshot = Event.objects.aggregate(m=Max("pk"))["m"] or 0
    return _Run(
        now=now or timezone.now(), snapshot=snapshot, embed_texts=embed_texts, lifecycle_ids=ensure_lifecycle_segments()
    )


def _process(ids: list[int], run: _Run, *, incremental: bool, batch_size: int, progress: Progress) -> None:
    progress.set_total(len(ids))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        _process_batch(chunk, run, incremental=incremental)
        progress.advance(len(chunk))


def rebuild_profiles(
    *,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
    embed_texts: EmbedTexts | None = None,
    batch_size: int = BATCH,
    customer_ids: Sequence[int] | None = None,
    snapshot: int | None = None,
    finish: bool = True,
) -> dict[str, Any]:
    """Recompute every customer's profile from all their events, BATCH customers per transaction, then
    RFM scores and lifecycle segment sizes. `embed_texts` embeds search queries (default: the embedder).

    A chunk of the `rebuild_profiles` job passes its `customer_ids`, the job's `now` and event `snapshot`
    (so every chunk reads the same events) and `finish=False`; the job's finish step is `finish_rebuild`."""
    run = _run(now, embed_texts)
    if snapshot is not None:
        run.snapshot = snapshot
    customers = Customer.objects.filter(erased_at__isnull=True)
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    ids = list(customers.order_by("pk").values_list("pk", flat=True))
    _process(ids, run, incremental=False, batch_size=batch_size, progress=progress)
    result: dict[str, Any] = {"profiles": len(ids), "last_event_id": run.snapshot}
    if finish:
        result["lifecycle"] = finish_rebuild(run.now)
    return result


def finish_rebuild(now: datetime) -> dict[str, int]:
    """After every profile is rebuilt: RFM scores over all profiles and the lifecycle segments' sizes."""
    score_rfm()
    return refresh_lifecycle_sizes(now)


def event_snapshot() -> int:
    """The highest event id now: a chunked rebuild reads events up to it in every chunk."""
    return Event.objects.aggregate(m=Max("pk"))["m"] or 0


def customers_with_new_events() -> list[int]:
    """Customers with an event newer than their profile's `last_event_id` (or without a profile); erased
    customers keep anonymised purchases but never get a profile again."""
    event, profile, customer = Event._meta.db_table, CustomerProfile._meta.db_table, Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT e.customer_id FROM {event} e LEFT JOIN {profile} p ON p.customer_id = e.customer_id
                JOIN {customer} c ON c.id = e.customer_id
                WHERE e.id > COALESCE(p.last_event_id, 0) AND c.erased_at IS NULL ORDER BY e.customer_id"""
        )
        return [row[0] for row in cursor.fetchall()]


def update_profiles(
    customer_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
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
        ids = list(
            Customer.objects.filter(pk__in=wanted, erased_at__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
    _process(ids, run, incremental=True, batch_size=batch_size, progress=progress)
    if ids:
        score_rfm(ids)
        refresh_lifecycle_sizes(run.now)
    return {"profiles": len(ids), "last_event_id": run.snapshot}
