"""Where a customer is in their lifecycle, and the lifecycle segments that group them.

Rules, relative to `now` (first match wins):
  prospect  never bought
  new       first order within NEW_DAYS (30)
  loyal     at least LOYAL_MIN_ORDERS (3) orders and the last within ACTIVE_DAYS (90)
  active    last order within ACTIVE_DAYS (90)
  at_risk   last order 90-180 days ago (AT_RISK_DAYS)
  lapsed    last order more than 180 days ago
The stage is stored on each profile (`customers/profiles.py`); the segments have stable keys
(`lifecycle-<stage>`) so a campaign can target them.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from .models import CustomerProfile, Lifecycle, Segment

NEW_DAYS = 30
ACTIVE_DAYS = 90
AT_RISK_DAYS = 180
LOYAL_MIN_ORDERS = 3


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
