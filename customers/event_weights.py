"""The decayed interest weights of a batch of customers, read in two grouped queries.

Per (customer, product): the sum of `behaviour.weight_sql(type) * behaviour.decay_sql(age)` over the
customer's engagement events; per (customer, normalised query): `SEARCH_WEIGHT * decay` over their searches.
With `carried`, what retention kept of deleted events (`CarriedProductWeight`, `CarriedSearchWeight`, decayed
from their `as_of`) is added in the same statement. The sums are done by PostgreSQL; Python gets one row per
(customer, product) and (customer, query) as numpy arrays, with the customer as its row in the batch, ready
for the sparse products of `profiles.py` (vectors) and `interests.py` (terms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from core.vector_rows import fetch_binary

from . import behaviour
from .models import CarriedProductWeight, CarriedSearchWeight, Event, EventType


@dataclass(frozen=True)
class BatchWeights:
    """Decayed weights of one batch; `*_rows` index the batch's customer list."""

    product_rows: np.ndarray  # int64
    products: np.ndarray  # int64 product ids
    product_weights: np.ndarray  # float64
    search_rows: np.ndarray  # int64
    queries: list[str]  # lower-cased, trimmed query text
    search_weights: np.ndarray  # float64


def read_weights(
    customer_ids: Sequence[int], after: Sequence[int], *, snapshot: int, now: datetime, carried: bool = False
) -> BatchWeights:
    """Weights of the events with after[i] < id <= snapshot of each customer_ids[i], decayed to `now`; with
    `carried`, plus the weights retention kept of deleted events."""
    event = Event._meta.db_table
    decay = behaviour.decay_sql("e.occurred_at", "%(now)s")
    kept = behaviour.decay_sql("k.as_of", "%(now)s")
    batch = """WITH c AS (SELECT * FROM unnest(%(ids)s::bigint[], %(after)s::bigint[]) WITH ORDINALITY
                          AS c(cid, after, n))"""
    scope = f"""FROM {event} e JOIN c ON e.customer_id = c.cid AND e.id > c.after AND e.id <= %(snapshot)s"""
    carried_products = carried_searches = ""
    if carried:
        carried_products = f"""UNION ALL SELECT c.n, k.product_id, k.weight * {kept}
            FROM {CarriedProductWeight._meta.db_table} k JOIN c ON k.customer_id = c.cid"""
        carried_searches = f"""UNION ALL SELECT c.n, k.query, k.weight * {kept}
            FROM {CarriedSearchWeight._meta.db_table} k JOIN c ON k.customer_id = c.cid"""
    params: dict[str, Any] = {
        "ids": list(customer_ids),
        "after": list(after),
        "snapshot": snapshot,
        "now": now,
        "types": sorted(str(t) for t in behaviour.ENGAGEMENT_EVENTS),
        "search": str(EventType.SEARCH),
    }
    products = fetch_binary(
        f"""{batch}
            SELECT n - 1, pid, SUM(w) FROM (
                SELECT c.n, e.product_id AS pid, {behaviour.weight_sql("e.type")} * {decay} AS w
                {scope} WHERE e.type = ANY(%(types)s) AND e.product_id IS NOT NULL
                {carried_products}) t
            GROUP BY n, pid""",
        params,
    )
    searches = fetch_binary(
        f"""{batch}
            SELECT n - 1, q, SUM(w) FROM (
                SELECT c.n, lower(btrim(e.query)) AS q, {behaviour.SEARCH_WEIGHT!r}::float8 * {decay} AS w
                {scope} WHERE e.type = %(search)s AND btrim(e.query) <> ''
                {carried_searches}) t
            GROUP BY n, q""",
        params,
    )
    product_columns = np.array(products, dtype=np.float64).reshape(-1, 3)  # ids are exact in float64 below 2**53
    return BatchWeights(
        product_rows=product_columns[:, 0].astype(np.int64),
        products=product_columns[:, 1].astype(np.int64),
        product_weights=product_columns[:, 2],
        search_rows=np.array([r[0] for r in searches], dtype=np.int64),
        queries=[r[1] for r in searches],
        search_weights=np.array([r[2] for r in searches], dtype=np.float64),
    )
