"""Retention: events older than EVENT_RETENTION_DAYS are folded into carried aggregates and deleted.

Profiles are sums over events, so what old events contribute can be kept without the events:
- interest weights per (customer, product) and (customer, normalised query), decayed to the purge's `now`
  (`CarriedProductWeight`, `CarriedSearchWeight`). Decay is exponential, so `weight * decay(t - as_of)` is
  at any later t exactly what the events would give; a rebuild adds these rows to the events' own weights
  (`event_weights.read_weights`), so the profile vector and interests stay the same (the product's current
  embedding is used, as a rebuild with the events would);
- order figures per customer (`CarriedTotals`: orders, revenue, first and last order, last seen), added by
  `rfm.order_facts`, so RFM and lifecycle stay the same.
Incremental updates need nothing: the stored `vector_sum` already holds the deleted events.

What is kept or waits:
- `unsubscribe` events are never deleted: they are the record of a customer's choice, which the audience
  rule reads (`campaigns.audience`).
- an event not yet folded into its customer's profile (id above `last_event_id`) waits for the next run,
  and an order's lines are deleted together (an order with a line inside the window stays whole), so an
  order is never counted on both sides.
What is lost: the events themselves, so recommender training, prediction features and experiment results
older than the window read less history (their weights have decayed to almost nothing by then).

Work goes in batches of customers (`BATCH`), each in its own transaction: the rows to delete are
selected into a temporary table on the server, aggregated into the carried rows and deleted there, so no
event is read into Python. Running it again deletes nothing more (idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress

from . import behaviour
from .models import CarriedProductWeight, CarriedSearchWeight, CarriedTotals, CustomerProfile, Event, EventType

BATCH = 500  # customers per transaction: their old events (a few thousand rows each at most) in a temp table
KEPT_TYPES = (str(EventType.UNSUBSCRIBE),)
_DOOMED = "retention_doomed"


def _params(ids: list[int], cutoff: datetime, now: datetime) -> dict[str, Any]:
    return {
        "ids": ids, "cutoff": cutoff, "now": now, "kept": list(KEPT_TYPES),
        "purchase": sorted(str(t) for t in behaviour.PURCHASE_EVENTS),
        "engagement": sorted(str(t) for t in behaviour.ENGAGEMENT_EVENTS),
        "search": str(EventType.SEARCH),
    }


def _select_doomed() -> str:
    """The batch's events to delete: old, folded into the profile, not kept, orders only whole."""
    event, profile = Event._meta.db_table, CustomerProfile._meta.db_table
    return f"""
        CREATE TEMP TABLE {_DOOMED} ON COMMIT DROP AS
        SELECT e.id, e.customer_id, e.product_id, e.type, e.query, e.order_id, e.value, e.occurred_at
        FROM {event} e JOIN {profile} p ON p.customer_id = e.customer_id
        WHERE e.customer_id = ANY(%(ids)s) AND e.occurred_at < %(cutoff)s AND e.id <= p.last_event_id
          AND NOT e.type = ANY(%(kept)s)
          AND NOT (e.type = ANY(%(purchase)s) AND e.order_id <> '' AND EXISTS (
              SELECT 1 FROM {event} o
              WHERE o.customer_id = e.customer_id AND o.order_id = e.order_id AND o.type = ANY(%(purchase)s)
                AND (o.occurred_at >= %(cutoff)s OR o.id > p.last_event_id)))"""


def _carry_weights() -> list[str]:
    products, searches = CarriedProductWeight._meta.db_table, CarriedSearchWeight._meta.db_table
    decay = behaviour.decay_sql("occurred_at", "%(now)s")

    def merge(table: str) -> str:  # the stored weight brought to the new time, plus the new one
        return (f"weight = {table}.weight * {behaviour.decay_sql(f'{table}.as_of', 'EXCLUDED.as_of')} "
                f"+ EXCLUDED.weight, as_of = EXCLUDED.as_of")

    return [
        f"""INSERT INTO {products} (customer_id, product_id, weight, as_of)
            SELECT customer_id, product_id, SUM({behaviour.weight_sql("type")} * {decay}), %(now)s FROM {_DOOMED}
            WHERE type = ANY(%(engagement)s) AND product_id IS NOT NULL GROUP BY customer_id, product_id
            ON CONFLICT (customer_id, product_id) DO UPDATE SET {merge(products)}""",
        f"""INSERT INTO {searches} (customer_id, query, weight, as_of)
            SELECT customer_id, lower(btrim(query)), SUM({behaviour.SEARCH_WEIGHT!r}::float8 * {decay}), %(now)s
            FROM {_DOOMED} WHERE type = %(search)s AND btrim(query) <> '' GROUP BY customer_id, lower(btrim(query))
            ON CONFLICT (customer_id, query) DO UPDATE SET {merge(searches)}""",
    ]


def _carry_totals() -> str:
    totals = CarriedTotals._meta.db_table
    bought = "FILTER (WHERE type = ANY(%(purchase)s))"
    return f"""
        INSERT INTO {totals} (customer_id, orders, revenue, first_order_at, last_order_at, last_seen_at, events,
                              updated_at)
        SELECT customer_id, COUNT(DISTINCT COALESCE(NULLIF(order_id, ''), 'at:' || occurred_at::text)) {bought},
               COALESCE(SUM(value) {bought}, 0), MIN(occurred_at) {bought}, MAX(occurred_at) {bought},
               MAX(occurred_at), COUNT(*), %(now)s
        FROM {_DOOMED} GROUP BY customer_id
        ON CONFLICT (customer_id) DO UPDATE SET
            orders = {totals}.orders + EXCLUDED.orders, revenue = {totals}.revenue + EXCLUDED.revenue,
            first_order_at = LEAST({totals}.first_order_at, EXCLUDED.first_order_at),
            last_order_at = GREATEST({totals}.last_order_at, EXCLUDED.last_order_at),
            last_seen_at = GREATEST({totals}.last_seen_at, EXCLUDED.last_seen_at),
            events = {totals}.events + EXCLUDED.events, updated_at = EXCLUDED.updated_at"""


def _purge_batch(ids: list[int], cutoff: datetime, now: datetime) -> int:
    """Fold and delete one batch's old events in one transaction; returns how many were deleted."""
    params = _params(ids, cutoff, now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_DOOMED}")  # inside an outer transaction the last one lingers
        cursor.execute(_select_doomed(), params)
        for statement in [*_carry_weights(), _carry_totals()]:
            cursor.execute(statement, params)
        cursor.execute(f"DELETE FROM {Event._meta.db_table} WHERE id IN (SELECT id FROM {_DOOMED})")
        deleted = cursor.rowcount
        cursor.execute(f"DROP TABLE {_DOOMED}")
    return deleted


def _next_customers(after: int, cutoff: datetime, size: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT customer_id FROM {Event._meta.db_table}
                WHERE occurred_at < %(cutoff)s AND customer_id > %(after)s AND NOT type = ANY(%(kept)s)
                ORDER BY customer_id LIMIT %(size)s""",
            {"cutoff": cutoff, "after": after, "size": size, "kept": list(KEPT_TYPES)},
        )
        return [row[0] for row in cursor.fetchall()]


def purge_old_events(
    *,
    older_than_days: int | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH,
    progress: Progress = NO_PROGRESS,
) -> dict[str, Any]:
    """Fold events older than `older_than_days` (default EVENT_RETENTION_DAYS; 0 keeps everything) into the
    carried aggregates and delete them; returns the cutoff and counts."""
    days = settings.EVENT_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return {"kept_forever": True, "deleted": 0, "customers_scanned": 0}
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    deleted = customers = 0
    after = 0
    progress.stage("fold and delete")
    while ids := _next_customers(after, cutoff, batch_size):
        count = _purge_batch(ids, cutoff, now)
        deleted += count
        customers += len(ids)
        after = ids[-1]
        progress.advance(len(ids), deleted=count)
    return {"cutoff": cutoff.isoformat(), "deleted": deleted, "customers_scanned": customers}
