"""Counting the recommendations served: lists and products per day and channel, for the dashboard.

A served list is counted in the serving process's memory (`record`: a dictionary update under a lock, no I/O)
and written within `RECOMMENDATIONS_SERVED_FLUSH_SECONDS` by a timer thread in one statement,
`INSERT ... ON CONFLICT (day, channel) DO UPDATE SET lists = lists + x, items = items + y`.
Why not a write per request: an upsert is a round trip and a commit on every request, and every request of a
day would queue on the same row's lock; a Redis counter would need Redis (the cache may be the database) and
still a round trip. The cost of the buffer: counts of a process that is killed (not stopped: `atexit` flushes)
within the last few seconds are lost, which a "how many served" figure can bear.

What counts (`ServedCount.Channel`): the customer recommendations API, the similar-products API, and a campaign
message's recommended products when the message is rendered for sending (`campaigns.personalisation.render`).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import defaultdict
from datetime import date, datetime

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from .models import ServedCount

logger = logging.getLogger(__name__)

Channel = ServedCount.Channel

_lock = threading.Lock()
_pending: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])  # (day, channel) -> [lists, items]
_timer: threading.Timer | None = None


def record(channel: str, items: int, *, now: datetime | None = None) -> None:
    """Count one list of `items` products served through `channel` (written within the flush interval)."""
    if channel not in Channel.values:
        raise ValueError(f"channel {channel!r}: expected one of {', '.join(Channel.values)}")
    if items < 0:
        raise ValueError(f"items must be 0 or more, got {items}")
    day = timezone.localdate(now or timezone.now())
    with _lock:
        counts = _pending[(day, channel)]
        counts[0] += 1
        counts[1] += items
        _arm()


def _arm() -> None:
    """Start the flush timer unless one is waiting (the caller holds `_lock`)."""
    global _timer
    if _timer is None:
        _timer = threading.Timer(settings.RECOMMENDATIONS_SERVED_FLUSH_SECONDS, _flush_in_thread)
        _timer.daemon = True
        _timer.start()


def pending() -> dict[tuple[date, str], tuple[int, int]]:
    """This process's counts not yet written: (day, channel) -> (lists, items)."""
    with _lock:
        return {key: (lists, items) for key, (lists, items) in _pending.items()}


def flush() -> int:
    """Write this process's counts in one upsert; the number of (day, channel) rows touched. On a database
    error the counts are kept for the next flush."""
    global _timer
    with _lock:
        taken = dict(_pending)
        _pending.clear()
        if _timer is not None:
            _timer.cancel()
            _timer = None
    if not taken:
        return 0
    keys = sorted(taken)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {ServedCount._meta.db_table} AS t (day, channel, lists, items)
                SELECT * FROM unnest(%s::date[], %s::varchar[], %s::bigint[], %s::bigint[])
                ON CONFLICT (day, channel) DO UPDATE SET lists = t.lists + EXCLUDED.lists,
                                                         items = t.items + EXCLUDED.items
                """,
                [[d for d, _ in keys], [c for _, c in keys], [taken[k][0] for k in keys], [taken[k][1] for k in keys]],
            )
    except DatabaseError:
        logger.exception("recommendations served: %s counts not written, kept for the next flush", len(keys))
        with _lock:
            for key in keys:
                counts = _pending[key]
                counts[0] += taken[key][0]
                counts[1] += taken[key][1]
            _arm()  # try again after the interval, not only when the next list is served
        return 0
    return len(keys)


def discard() -> None:
    """Forget this process's unwritten counts (tests: nothing leaks from one test into the next)."""
    global _timer
    with _lock:
        _pending.clear()
        if _timer is not None:
            _timer.cancel()
            _timer = None


def _flush_in_thread() -> None:
    global _timer
    with _lock:
        _timer = None
    try:
        flush()
    finally:
        connections.close_all()  # this thread's own connection


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # the database may be gone at interpreter exit; nothing more can be done then
        logger.exception("recommendations served: counts lost at exit")


atexit.register(_flush_at_exit)
