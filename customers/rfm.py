"""How customers buy: orders, revenue, first and last order (aggregates of their purchase events), and the
RFM score.

RFM score: recency, frequency (distinct orders) and monetary (revenue) quintiles 1-5 among customers who
bought, from cut points over all profiles (ties share a score; 5 = most recent / most orders / most spent).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from core.vector_rows import fetch_binary

from . import behaviour
from .models import CarriedTotals, CustomerProfile, Event

OrderFacts = tuple[int, Any, datetime | None, datetime | None, datetime | None]
"""(orders, revenue, first order, last order, last event of any type)."""


def order_facts(customer_ids: Sequence[int]) -> dict[int, OrderFacts]:
    """Orders (distinct order ids of purchases; a purchase without one is an order of its own timestamp),
    revenue, first and last order, last event of any type: one GROUP BY for the batch, joined with what
    retention carried over from deleted events (`CarriedTotals`; retention deletes an order's lines together,
    so no order is on both sides)."""
    event, carried = Event._meta.db_table, CarriedTotals._meta.db_table
    rows = fetch_binary(  # binary: five timestamps a customer parse faster than from text
        f"""WITH ev AS (
                    SELECT customer_id,
                           COUNT(DISTINCT COALESCE(NULLIF(order_id, ''), 'at:' || occurred_at::text))
                               FILTER (WHERE type = ANY(%(purchase)s)) AS orders,
                           COALESCE(SUM(value) FILTER (WHERE type = ANY(%(purchase)s)), 0) AS revenue,
                           MIN(occurred_at) FILTER (WHERE type = ANY(%(purchase)s)) AS first_order,
                           MAX(occurred_at) FILTER (WHERE type = ANY(%(purchase)s)) AS last_order,
                           MAX(occurred_at) AS seen
                    FROM {event} WHERE customer_id = ANY(%(ids)s) GROUP BY customer_id),
                c AS (SELECT * FROM {carried} WHERE customer_id = ANY(%(ids)s))
                SELECT COALESCE(ev.customer_id, c.customer_id),
                       COALESCE(ev.orders, 0) + COALESCE(c.orders, 0),
                       COALESCE(ev.revenue, 0) + COALESCE(c.revenue, 0),
                       LEAST(ev.first_order, c.first_order_at), GREATEST(ev.last_order, c.last_order_at),
                       GREATEST(ev.seen, c.last_seen_at)
                FROM ev FULL OUTER JOIN c ON c.customer_id = ev.customer_id""",
        {"ids": list(customer_ids), "purchase": sorted(str(t) for t in behaviour.PURCHASE_EVENTS)},
    )
    return {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in rows}


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
