"""Retention: events older than the window are folded into carried aggregates and deleted; profiles rebuilt
(or updated) afterwards are the profiles computed with the events; younger events, unsubscribes and orders
that reach into the window stay; a second run deletes nothing; batches of customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from customers import profiles, retention
from customers.models import CarriedTotals, Customer, CustomerProfile, Event, EventType
from customers.tasks import request_event_purge
from jobs.runner import registered_kinds
from tests.catalog.builders import product
from tests.customers.builders import NOW, customer, event, purchase
from tests.vectors import basis, fake_embed

pytestmark = pytest.mark.django_db
DAYS = 365
LATER = NOW + timedelta(days=40)  # a rebuild some time after the purge


def _snapshot(now: Any = LATER) -> dict[int, dict[str, Any]]:
    profiles.rebuild_profiles(now=now, embed_texts=fake_embed)
    return {
        p.customer_id: {
            "vector": np.asarray(p.vector) if p.vector is not None else None,
            "vector_sum": np.asarray(p.vector_sum) if p.vector_sum is not None else None,
            "weight_sum": p.weight_sum, "interests": p.interests, "orders": p.orders, "revenue": p.revenue,
            "first": p.first_order_at, "last": p.last_order_at, "seen": p.last_seen_at, "rfm": p.rfm_score,
            "lifecycle": p.lifecycle, "recency": p.recency_days,
        }
        for p in CustomerProfile.objects.all()
    }


def _same(before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]) -> None:
    assert before.keys() == after.keys()
    for cid, old in before.items():
        new = after[cid]
        for key in ("vector", "vector_sum"):
            if old[key] is None:
                assert new[key] is None, (cid, key)
            else:
                np.testing.assert_allclose(new[key], old[key], rtol=1e-5, atol=1e-7, err_msg=f"{cid} {key}")
        assert new["weight_sum"] == pytest.approx(old["weight_sum"], rel=1e-9)
        for kind in ("categories", "brands", "keywords"):
            assert [n for n, _ in new["interests"][kind]] == [n for n, _ in old["interests"][kind]], (cid, kind)
            assert [w for _, w in new["interests"][kind]] == pytest.approx([w for _, w in old["interests"][kind]],
                                                                           abs=1e-4)
        for key in ("orders", "revenue", "first", "last", "seen", "rfm", "lifecycle", "recency"):
            assert new[key] == old[key], (cid, key)


def shop() -> list[Customer]:
    """Customers with old and recent events of every kind: products, searches, orders (one crossing the
    cutoff), an unsubscribe, a customer with only old events."""
    mug = product(embedding=basis(0), title="Stoneware mug", category="Home > Kitchen > Mugs", brand="Clay")
    pot = product(embedding=basis(1), title="Glass teapot", category="Home > Kitchen > Teapots", brand="Glassworks")
    shoe = product(embedding=basis(2), title="Trail shoe", category="Sport > Shoes", brand="Peak")
    ann, bob, cat = customer(), customer(), customer()
    purchase(ann, mug, days_ago=800, order_id="o-old", value="30.00")
    purchase(ann, pot, days_ago=800, order_id="o-old", value="45.50")
    event(ann, "view", product=shoe, days_ago=500)
    event(ann, "add_to_cart", product=mug, days_ago=400)
    event(ann, "search", days_ago=450, query="  Blue Teapot ")
    event(ann, "open", days_ago=600)
    event(ann, EventType.UNSUBSCRIBE, days_ago=700)
    event(ann, "view", product=pot, days_ago=10)
    purchase(ann, shoe, days_ago=5, order_id="o-new", value="99.00")
    # bob's order has a line before the cutoff and one after: the order stays whole
    purchase(bob, mug, days_ago=366, order_id="o-cross", value="10.00")
    purchase(bob, pot, days_ago=300, order_id="o-cross", value="20.00")
    purchase(bob, shoe, days_ago=900, value="15.00")  # no order id: an order of its own
    event(bob, "search", days_ago=800, query="trail shoes")
    event(bob, "search", days_ago=20, query="Trail Shoes")
    event(cat, "view", product=mug, days_ago=1000)  # only old events
    purchase(cat, pot, days_ago=1000, order_id="o-cat", value="12.00")
    return [ann, bob, cat]


def test_a_purge_keeps_every_profile_as_it_was() -> None:
    ann, bob, cat = shop()
    before = _snapshot()
    total = Event.objects.count()
    result = retention.purge_old_events(older_than_days=DAYS, now=NOW, batch_size=2)  # two batches
    assert result["deleted"] == 10 and Event.objects.count() == total - 10
    cutoff = NOW - timedelta(days=DAYS)
    old = Event.objects.filter(occurred_at__lt=cutoff)
    # what stays: the unsubscribe, and bob's order that reaches into the window
    assert sorted(old.values_list("type", "order_id")) == [("purchase", "o-cross"), ("unsubscribe", "")]
    assert Event.objects.filter(occurred_at__gte=cutoff).count() == 4  # younger events all stay
    assert not Event.objects.filter(customer=cat).exists()
    assert CarriedTotals.objects.get(customer=ann).orders == 1
    _same(before, _snapshot())
    # the incremental path agrees: new events folded into the purged profiles
    event(cat, "open", days_ago=-30)
    event(bob, "view", product=Event.objects.exclude(product=None).earliest("pk").product, days_ago=-35)
    profiles.update_profiles(now=LATER, embed_texts=fake_embed)
    incremental = {
        p.customer_id: np.asarray(p.vector_sum) for p in CustomerProfile.objects.all() if p.vector_sum is not None
    }
    rebuilt = _snapshot()
    for cid, vector in incremental.items():
        np.testing.assert_allclose(vector, rebuilt[cid]["vector_sum"], rtol=1e-5, atol=1e-7)


def test_a_second_purge_deletes_nothing_and_changes_nothing() -> None:
    shop()
    first = _snapshot()
    assert retention.purge_old_events(older_than_days=DAYS, now=NOW)["deleted"] == 10
    before = _snapshot()
    _same(first, before)
    carried = list(CarriedTotals.objects.values())
    assert retention.purge_old_events(older_than_days=DAYS, now=NOW)["deleted"] == 0
    assert list(CarriedTotals.objects.values()) == carried
    _same(before, _snapshot())


def test_later_purges_merge_with_what_was_carried() -> None:
    shop()
    before = _snapshot()
    retention.purge_old_events(older_than_days=700, now=NOW)  # first the oldest
    retention.purge_old_events(older_than_days=DAYS, now=NOW + timedelta(days=10))  # then more, later
    _same(before, _snapshot())


def test_events_not_yet_in_a_profile_wait() -> None:
    ann = customer()
    mug = product(embedding=basis(0))
    event(ann, "view", product=mug, days_ago=800)
    assert retention.purge_old_events(older_than_days=DAYS, now=NOW)["deleted"] == 0  # no profile yet
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    assert retention.purge_old_events(older_than_days=DAYS, now=NOW)["deleted"] == 1


def test_zero_keeps_events_forever(settings: Any) -> None:
    shop()
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    settings.EVENT_RETENTION_DAYS = 0
    assert retention.purge_old_events(now=NOW) == {"kept_forever": True, "deleted": 0, "customers_scanned": 0}
    assert request_event_purge() is None
    settings.EVENT_RETENTION_DAYS = DAYS
    assert retention.purge_old_events(now=NOW)["deleted"] == 10


def test_the_purge_is_a_scheduled_job(settings: Any) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["purge-old-events"]["task"] == "customers.request_event_purge"
    assert "purge_old_events" in registered_kinds()
