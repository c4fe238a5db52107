"""The demo shop gives its customers hours of their own, on their own clock, and a time zone the shop knows
for a share of them, so the per-customer send-time estimate has something to find (and the seed stays
reproducible)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer, EventType
from demo.seed import SeedOptions, plan_shop, seed_shop

OPTIONS = SeedOptions(seed=7, products=40, customers=300, events=9000, reviews=0, anchor=date(2026, 3, 1))


def test_customers_keep_their_own_local_hour() -> None:
    plan = plan_shop(OPTIONS)
    known = [c for c in plan.customers if c.timezone]
    assert 0.45 < len(known) / len(plan.customers) < 0.75
    assert all(c.timezone == c.home_zone for c in known)
    assert {"Europe/London", "America/New_York", "Asia/Shanghai"} <= {c.home_zone for c in plan.customers}
    hours: dict[int, Counter[int]] = {}
    for e in plan.events:
        if e.type in (EventType.OPEN, EventType.CLICK, EventType.VIEW):
            c = plan.customers[e.customer]
            hours.setdefault(e.customer, Counter())[e.occurred_at.astimezone(ZoneInfo(c.home_zone)).hour] += 1
    habitual = [c for c in plan.customers if c.habit > 0.7 and sum(hours.get(c.index, Counter()).values()) >= 10]
    assert len(habitual) >= 20

    def apart(a: int, b: int) -> int:  # hours between two hours of the day, round the clock
        return min(abs(a - b), 24 - abs(a - b))

    near = [c for c in habitual if apart(hours[c.index].most_common(1)[0][0], c.own_hour) <= 1]
    assert len(near) / len(habitual) > 0.8
    again = plan_shop(OPTIONS)
    assert [(c.timezone, c.own_hour) for c in again.customers] == [(c.timezone, c.own_hour) for c in plan.customers]


@pytest.mark.django_db
def test_the_known_time_zones_are_stored() -> None:
    seed_shop(SeedOptions(seed=7, products=20, customers=30, events=300, reviews=0, anchor=date(2026, 3, 1)))
    zones = list(Customer.objects.filter(external_id__startswith="demo-c-").values_list("timezone", flat=True))
    assert any(zones) and "" in zones
    assert all(z == "" or ZoneInfo(z) for z in zones)
