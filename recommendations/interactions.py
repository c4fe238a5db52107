"""The shop's own data as the recommender trains on it: product events as numpy arrays, product embeddings,
behavioural segments. Set-wise reads (one SQL pass, no model instances), so 100k customers fit in seconds.

An event's weight is what `customers.behaviour` says it means (buying beats carting beats looking);
a purchase's `order_id` (per customer) is its basket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection

from catalog.models import ProductEmbedding
from customers import behaviour
from customers.models import CustomerProfile, Event


@dataclass
class Interactions:
    """Product events as parallel arrays (one row per event), sorted by time."""

    customer_ids: np.ndarray  # int64
    product_ids: np.ndarray  # int64
    times: np.ndarray  # float64, seconds since the epoch
    weights: np.ndarray  # float32
    baskets: np.ndarray  # int64, 0 when the event is not part of an order

    def __len__(self) -> int:
        return len(self.customer_ids)


_EVENTS_SQL = """
SELECT customer_id, product_id,
       EXTRACT(EPOCH FROM occurred_at)::float8,
       {weight},
       CASE WHEN order_id = '' THEN 0 ELSE hashtextextended(order_id, customer_id) END
FROM {table}
WHERE product_id IS NOT NULL AND type = ANY(%s) {extra}
ORDER BY occurred_at, id
"""


def load_interactions(*, until: datetime | None = None, chunk: int = 200_000) -> Interactions:
    """Every product engagement event (before `until`) as arrays: one query, fetched in chunks, no ORM objects.

    Baskets are a 64-bit hash of (customer, order id), so two customers' "order 1" never merge.
    """
    params: list[Any] = [sorted(str(t) for t in behaviour.ENGAGEMENT_EVENTS)]
    extra = ""
    if until is not None:
        extra = "AND occurred_at < %s"
        params.append(until)
    sql = _EVENTS_SQL.format(weight=behaviour.weight_sql("type"), table=Event._meta.db_table, extra=extra)
    parts: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            parts.append(np.array(rows, dtype=object))
    if not parts:
        empty = np.zeros(0)
        return Interactions(
            empty.astype(np.int64), empty.astype(np.int64), empty, empty.astype(np.float32), empty.astype(np.int64)
        )
    table = np.concatenate(parts)
    return Interactions(
        customer_ids=table[:, 0].astype(np.int64),
        product_ids=table[:, 1].astype(np.int64),
        times=table[:, 2].astype(np.float64),
        weights=table[:, 3].astype(np.float32),
        baskets=table[:, 4].astype(np.int64),
    )


def load_item_vectors(product_ids: np.ndarray) -> np.ndarray | None:
    """Product embeddings in the order of `product_ids` (zero rows where missing); None when none exist."""
    position = {int(pid): i for i, pid in enumerate(product_ids)}
    vectors: np.ndarray | None = None
    for pid, embedding in ProductEmbedding.objects.values_list("product_id", "embedding").iterator(chunk_size=5000):
        index = position.get(pid)
        if index is None:
            continue
        row = np.asarray(embedding, dtype=np.float32)
        if vectors is None:
            vectors = np.zeros((len(product_ids), len(row)), dtype=np.float32)
        vectors[index] = row
    return vectors


def load_segments(customer_ids: np.ndarray) -> dict[int, np.ndarray]:
    """Behavioural segment id -> the sorted customer ids in it (from CustomerProfile.behaviour_segment)."""
    rows = np.array(
        list(CustomerProfile.objects.filter(behaviour_segment__isnull=False).values_list(
            "customer_id", "behaviour_segment_id"
        )),
        dtype=np.int64,
    ).reshape(-1, 2)
    return {int(seg): np.sort(rows[rows[:, 1] == seg, 0]) for seg in np.unique(rows[:, 1])}
