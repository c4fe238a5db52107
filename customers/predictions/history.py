"""The shop's history before a moment, read once into numpy arrays that features and labels slice.

Three aggregate SQL queries (orders, daily activity per event type, first touch of each product and
category): the row counts are customers x days x types and customers x products, not raw events.
Times are days since the Unix epoch (floats), so a cutoff is a number and a window a subtraction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from catalog.models import Product

from ..models import Event, EventType

DAY = 86400.0
TYPE_CODES = {t.value: i for i, t in enumerate(EventType)}


@dataclass
class History:
    """Everything the features and labels need, as arrays; times are days since the Unix epoch."""

    customer_pks: np.ndarray  # dense index -> Customer pk
    o_cust: np.ndarray  # orders, sorted by (customer, time)
    o_t: np.ndarray
    o_value: np.ndarray
    a_cust: np.ndarray  # activity: one row per customer, event type and day
    a_type: np.ndarray
    a_t: np.ndarray  # the latest event of that type that day
    a_count: np.ndarray
    p_cust: np.ndarray  # first time each customer touched each product
    p_t: np.ndarray
    g_cust: np.ndarray  # first time each customer touched each product category
    g_t: np.ndarray
    now: float

    @property
    def n(self) -> int:
        return len(self.customer_pks)

    @property
    def start(self) -> float | None:
        return float(self.a_t.min()) if len(self.a_t) else None


def to_days(moment: datetime) -> float:
    """A moment as days since the Unix epoch, the unit of every time in a `History`."""
    return moment.timestamp() / DAY


def from_days(days: float) -> datetime:
    return datetime.fromtimestamp(days * DAY, tz=UTC)


def day_text(days: float) -> str:
    """The calendar date (UTC) of a time in days, for messages and version parameters."""
    return from_days(days).date().isoformat()


def default_now() -> datetime:
    """Midnight (UTC) after the latest event, or the current time if that is earlier.

    Anchoring on the data rather than the clock keeps an imported history (Online Retail, 2010) from
    being judged against fifteen empty years; for a live shop the latest event is about now anyway.
    """
    latest = Event.objects.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    current = timezone.now()
    if latest is None:
        return current
    midnight = datetime.combine(latest.astimezone(UTC).date() + timedelta(days=1), dtime.min, tzinfo=UTC)
    return min(midnight, current)


def _fetch(sql: str, params: Sequence[Any], columns: int) -> list[np.ndarray]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return [np.empty(0) for _ in range(columns)]
    return [np.asarray(col) for col in zip(*rows, strict=True)]


def load_history(now: datetime) -> History:
    """Three aggregate queries over the events before `now` (the row counts are customers x days x types
    and customers x products, not raw events)."""
    ev, pr = Event._meta.db_table, Product._meta.db_table
    purchase = EventType.PURCHASE.value
    # An order is its order_id; purchases without one are grouped per customer and day.
    cust, t, value = _fetch(
        f"""SELECT customer_id, MIN(EXTRACT(EPOCH FROM occurred_at))::float8 / 86400, COALESCE(SUM(value), 0)::float8
            FROM {ev} WHERE type = %s AND occurred_at < %s
            GROUP BY customer_id, CASE WHEN order_id <> '' THEN order_id
                                       ELSE 'day:' || (occurred_at AT TIME ZONE 'UTC')::date::text END""",
        [purchase, now], 3,
    )
    a_cust, a_type, a_t, a_count = _fetch(
        f"""SELECT customer_id, type, MAX(EXTRACT(EPOCH FROM occurred_at))::float8 / 86400, COUNT(*)
            FROM {ev} WHERE occurred_at < %s
            GROUP BY customer_id, type, (occurred_at AT TIME ZONE 'UTC')::date""",
        [now], 4,
    )
    p_cust, p_t = _fetch(
        f"""SELECT customer_id, MIN(EXTRACT(EPOCH FROM occurred_at))::float8 / 86400
            FROM {ev} WHERE occurred_at < %s AND product_id IS NOT NULL GROUP BY customer_id, product_id""",
        [now], 2,
    )
    g_cust, g_t = _fetch(
        f"""SELECT e.customer_id, MIN(EXTRACT(EPOCH FROM e.occurred_at))::float8 / 86400
            FROM {ev} e JOIN {pr} p ON p.id = e.product_id
            WHERE e.occurred_at < %s AND p.category <> '' GROUP BY e.customer_id, p.category""",
        [now], 2,
    )
    pks = np.unique(a_cust.astype(np.int64)) if len(a_cust) else np.empty(0, dtype=np.int64)

    def dense(raw: np.ndarray) -> np.ndarray:
        return np.searchsorted(pks, raw.astype(np.int64)) if len(raw) else np.empty(0, dtype=np.int64)

    o_cust = dense(cust)
    o_t = t.astype(np.float64)
    order = np.lexsort((o_t, o_cust))
    type_codes = np.array([TYPE_CODES.get(str(x), -1) for x in a_type], dtype=np.int64)
    return History(
        customer_pks=pks,
        o_cust=o_cust[order], o_t=o_t[order], o_value=value.astype(np.float64)[order],
        a_cust=dense(a_cust), a_type=type_codes, a_t=a_t.astype(np.float64), a_count=a_count.astype(np.float64),
        p_cust=dense(p_cust), p_t=p_t.astype(np.float64),
        g_cust=dense(g_cust), g_t=g_t.astype(np.float64),
        now=to_days(now),
    )
