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

Everything works on batches of customers with set-based queries (a handful per batch, never one per event):
PostgreSQL sums the decayed weights per (customer, product) and (customer, query) (`event_weights.py`);
the vector sums are one sparse (customer x product) x (product x 384) product per batch with product
vectors read once per run in binary form; interests are sparse products too (`interests.py`); each batch is
written with one binary COPY and one INSERT ... ON CONFLICT. Profile vectors carry no index: nothing
searches customers by vector, and keeping an HNSW graph up to date cost 3 ms per written profile, most of a
rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from scipy import sparse

from catalog.models import ProductEmbedding, Review, ReviewInsight
from core.collector import cycle_collection_paused
from core.progress import NO_PROGRESS, Progress
from core.vector_rows import copy_rows, fetch_binary, vector_from_binary, vector_to_binary

from . import behaviour
from .event_weights import BatchWeights, read_weights
from .interests import InterestTerms
from .lifecycle import ensure_lifecycle_segments, lifecycle_of, refresh_lifecycle_sizes
from .models import Customer, CustomerProfile, Event
from .queries import EmbedTexts, embed_queries
from .rfm import order_facts, score_rfm

logger = logging.getLogger(__name__)

BATCH = 5000  # customers per batch and transaction: 5000 x 384 float64 sums (15 MB) plus their events' rows
DIM = 384


@dataclass
class _Run:
    """State shared by the batches of one run: product terms and embeddings read so far, the embedder."""

    now: datetime
    snapshot: int  # highest event id considered; later events wait for the next update
    embed_texts: EmbedTexts | None  # None: the shop's embedding model
    lifecycle_ids: dict[str, int]
    terms: InterestTerms = field(default_factory=InterestTerms)
    product_vectors: dict[int, np.ndarray | None] = field(default_factory=dict)

    def load_product_vectors(self, ids: Iterable[int]) -> None:
        """Read the embeddings of products not read yet in this run (one query, binary)."""
        missing = sorted({int(pk) for pk in ids} - self.product_vectors.keys())
        if not missing:
            return
        for pk in missing:
            self.product_vectors[pk] = None
        for pk, vector in fetch_binary(
            f"SELECT product_id, embedding FROM {ProductEmbedding._meta.db_table} WHERE product_id = ANY(%s)",
            [missing],
        ):
            self.product_vectors[pk] = vector_from_binary(vector)


def _sum_vectors(n: int, weights: BatchWeights, run: _Run) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums (n, DIM) and weight sums (n,) of the product and search terms; a product without an
    embedding adds nothing to either."""
    sums = np.zeros((n, DIM), dtype=np.float64)
    weight_sums = np.zeros(n, dtype=np.float64)
    run.load_product_vectors(weights.products.tolist())
    embedded = np.fromiter(
        (run.product_vectors[pk] is not None for pk in weights.products.tolist()), dtype=bool,
        count=len(weights.products),
    )
    rows, values = weights.product_rows[embedded], weights.product_weights[embedded]
    if len(rows):
        columns, column_of = np.unique(weights.products[embedded], return_inverse=True)
        vectors = np.stack([run.product_vectors[pk] for pk in columns.tolist()]).astype(np.float64)  # type: ignore[misc]
        by_product = sparse.csr_matrix((values, (rows, column_of.reshape(-1))), shape=(n, len(columns)))
        sums += by_product @ vectors
        weight_sums += np.bincount(rows, weights=values, minlength=n)
    if weights.queries:
        queries = sorted(set(weights.queries))
        column = {q: i for i, q in enumerate(queries)}
        by_query = sparse.csr_matrix(
            (weights.search_weights, (weights.search_rows, [column[q] for q in weights.queries])),
            shape=(n, len(queries)),
        )
        sums += by_query @ embed_queries(queries, run.embed_texts).astype(np.float64)
        weight_sums += np.bincount(weights.search_rows, weights=weights.search_weights, minlength=n)
    return sums, weight_sums


def _review_sums(customer_ids: Sequence[int], run: _Run) -> np.ndarray:
    """Decayed, weighted sums of the customer's own review embeddings (n, DIM)."""
    sums = np.zeros((len(customer_ids), DIM), dtype=np.float64)
    found = fetch_binary(
        f"""SELECT c.n - 1, i.embedding, r.created_at
            FROM {ReviewInsight._meta.db_table} i JOIN {Review._meta.db_table} r ON r.id = i.review_id
            JOIN unnest(%s::bigint[]) WITH ORDINALITY AS c(cid, n) ON r.customer_id = c.cid
            WHERE i.embedding IS NOT NULL""",
        [list(customer_ids)],
    )
    if found:
        rows = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
        ages = np.fromiter(((run.now - r[2]).total_seconds() / 86400 for r in found), dtype=np.float64,
                           count=len(found))
        vectors = np.stack([vector_from_binary(r[1]) for r in found]).astype(np.float64)  # type: ignore[misc]
        np.add.at(sums, rows, (behaviour.REVIEW_WEIGHT * behaviour.decay(ages))[:, None] * vectors)
    return sums


@dataclass(frozen=True)
class _Stored:
    """What an incremental update continues from."""

    vector_sum: np.ndarray | None
    weight_sum: float
    decayed_at: datetime | None
    last_event_id: int


def _stored(customer_ids: Sequence[int]) -> dict[int, _Stored]:
    rows = fetch_binary(
        f"""SELECT customer_id, vector_sum, weight_sum, decayed_at, last_event_id
            FROM {CustomerProfile._meta.db_table} WHERE customer_id = ANY(%s)""",
        [list(customer_ids)],
    )
    return {cid: _Stored(vector_from_binary(vector), weight, at, last) for cid, vector, weight, at, last in rows}


def _units(vectors: np.ndarray) -> list[np.ndarray | None]:
    """Each row at unit length as float32, None for a zero row."""
    norms = np.linalg.norm(vectors, axis=1)
    scaled = (vectors / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)
    return [scaled[i] if norms[i] > 0 else None for i in range(len(vectors))]



_COLUMNS = {  # written by every run, with their PostgreSQL types for the binary COPY
    "customer_id": "int8", "vector": "vector", "vector_sum": "vector", "weight_sum": "float8",
    "decayed_at": "timestamptz", "last_event_id": "int8", "interests": "jsonb", "first_order_at": "timestamptz",
    "last_order_at": "timestamptz", "last_seen_at": "timestamptz", "orders": "int4", "revenue": "numeric",
    "recency_days": "float8", "lifecycle": "text", "lifecycle_segment_id": "int8", "updated_at": "timestamptz",
}


def _write(rows: Iterator[tuple[Any, ...]]) -> None:
    """Upsert the batch's profiles: a binary COPY into a temporary table, then one INSERT ... ON CONFLICT
    (a new profile starts without RFM score or behavioural segment; an existing one keeps them)."""
    table = CustomerProfile._meta.db_table
    columns = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE profile_rows ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        )
    copy_rows("profile_rows", list(_COLUMNS), list(_COLUMNS.values()), rows)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "customer_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} ({columns}, rfm_score) SELECT {columns}, '' FROM profile_rows
                ON CONFLICT (customer_id) DO UPDATE SET {updates}"""
        )
        cursor.execute("DROP TABLE profile_rows")


def _process_batch(customer_ids: list[int], run: _Run, *, incremental: bool) -> None:
    n = len(customer_ids)
    every = read_weights(customer_ids, [0] * n, snapshot=run.snapshot, now=run.now, carried=True)
    if incremental:
        stored = _stored(customer_ids)
        after = [stored[c].last_event_id if c in stored else 0 for c in customer_ids]
        sums, weight_sums = _sum_vectors(n, read_weights(customer_ids, after, snapshot=run.snapshot, now=run.now), run)
        for i, cid in enumerate(customer_ids):
            old = stored.get(cid)
            if old is None or old.vector_sum is None or old.decayed_at is None or not old.last_event_id:
                continue
            factor = behaviour.decay((run.now - old.decayed_at).total_seconds() / 86400)
            sums[i] += factor * old.vector_sum.astype(np.float64)
            weight_sums[i] += factor * old.weight_sum
    else:
        sums, weight_sums = _sum_vectors(n, every, run)
    vectors = [vector_to_binary(v) for v in _units(sums + _review_sums(customer_ids, run))]
    kept_sums = [vector_to_binary(sums[i]) if weight_sums[i] > 0 else None for i in range(n)]
    interest = run.terms.interests(customer_ids, every)
    orders_of = order_facts(customer_ids)

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, cid in enumerate(customer_ids):
            orders, revenue, first, last, seen = orders_of.get(cid, (0, 0, None, None, None))
            stage = lifecycle_of(orders, first, last, run.now)
            recency = None if last is None else round(max(0.0, (run.now - last).total_seconds() / 86400), 3)
            yield (
                cid, vectors[i], kept_sums[i],
                float(weight_sums[i]), run.now, run.snapshot, interest[cid], first, last, seen, orders, revenue,
                recency, stage, run.lifecycle_ids[stage], run.now,
            )

    with transaction.atomic():
        _write(rows())


# --- entry points ------------------------------------------------------------------------------------------


def _run(now: datetime | None, embed_texts: EmbedTexts | None) -> _Run:
    snapshot = Event.objects.aggregate(m=Max("pk"))["m"] or 0
    return _Run(
        now=now or timezone.now(), snapshot=snapshot, embed_texts=embed_texts, lifecycle_ids=ensure_lifecycle_segments()
    )


def _process(ids: list[int], run: _Run, *, incremental: bool, batch_size: int, progress: Progress) -> None:
    progress.set_total(len(ids))
    with cycle_collection_paused():  # a batch builds about a million small lists (interests) and no cycles
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            _process_batch(chunk, run, incremental=incremental)
            progress.advance(len(chunk))


def _customer_ids(values: Iterable[Any]) -> list[int]:
    """Distinct ids in order; a value that is not a whole number is refused with its place, before any write."""
    ids = set()
    for place, value in enumerate(values):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool) or (isinstance(value, float) and value != number):
            raise ValueError(f"customer_ids[{place}]: {value!r} is not a customer id (a whole number)")
        ids.add(number)
    return sorted(ids)


def rebuild_profiles(
    *,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
    embed_texts: EmbedTexts | None = None,
    batch_size: int = BATCH,
    customer_ids: Sequence[int] | None = None,
    snapshot: int | None = None,
    finish: bool | None = None,
) -> dict[str, Any]:
    """Recompute profiles from all their events, `batch_size` customers per transaction: every customer's
    (then `finish_rebuild`: RFM scores, lifecycle sizes), or only `customer_ids` (one chunk of a rebuild
    spread over workers, which leaves the finish to the job: `finish` None means "finish when rebuilding
    everyone"). A chunk passes the job's `now` and event `snapshot` so every chunk reads the same events.
    Erased customers are skipped. `embed_texts` embeds search queries (default: the embedder)."""
    wanted = None if customer_ids is None else _customer_ids(customer_ids)
    run = _run(now, embed_texts)
    if snapshot is not None:
        run.snapshot = snapshot
    customers = Customer.objects.filter(erased_at__isnull=True)
    if wanted is not None:
        customers = customers.filter(pk__in=wanted)
    ids = list(customers.order_by("pk").values_list("pk", flat=True))
    _process(ids, run, incremental=False, batch_size=batch_size, progress=progress)
    result: dict[str, Any] = {"profiles": len(ids), "last_event_id": run.snapshot}
    if finish if finish is not None else customer_ids is None:
        result["lifecycle"] = finish_rebuild(now=run.now)
    return result


def finish_rebuild(now: datetime | None = None) -> dict[str, int]:
    """What follows the profiles of a full rebuild: RFM scores of every profile (quintiles need them all)
    and the lifecycle segments' sizes, which it returns."""
    score_rfm()
    return refresh_lifecycle_sizes(now or timezone.now())


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
    wanted = None if customer_ids is None else _customer_ids(customer_ids)
    run = _run(now, embed_texts)
    if wanted is None:
        ids = customers_with_new_events()
    else:
        ids = list(
            Customer.objects.filter(pk__in=wanted, erased_at__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
    _process(ids, run, incremental=True, batch_size=batch_size, progress=progress)
    if ids:
        score_rfm(ids)
        refresh_lifecycle_sizes(run.now)
    return {"profiles": len(ids), "last_event_id": run.snapshot}
