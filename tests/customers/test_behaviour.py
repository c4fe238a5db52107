"""One meaning of an event: profiles, recommender training (its data and popularity) and live ranking (history
seeds) all read the weights, the half-life and the decay from customers.behaviour, so a change there changes
what every one of them sees, in SQL and in Python alike."""

from __future__ import annotations

import math

import numpy as np
import pytest
from django.db import connection

from campaigns.generation.planning import popular_products
from customers import behaviour, profiles
from customers.models import CustomerProfile, EventType
from recommendations.context import history_seeds, load_contexts
from recommendations.interactions import load_interactions
from recommendations.training import popularity_lists
from tests.catalog.builders import product
from tests.customers.builders import NOW, customer, event, purchase
from tests.vectors import basis, fake_embed

pytestmark = pytest.mark.django_db


def _what_each_sees(ann_id: int, mug_id: int, pot_id: int) -> dict[str, dict[int, float]]:
    """Per product, the decayed weight of the customer's events as profiles, training and ranking see it."""
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    profile = CustomerProfile.objects.get(customer_id=ann_id)
    vector_sum = np.asarray(profile.vector_sum, dtype=np.float64)  # basis(0) is the mug, basis(1) the pot
    data = load_interactions()
    items = np.array([{mug_id: 0, pot_id: 1}[int(p)] for p in data.product_ids])
    popular, _ = popularity_lists(items, data.times, data.weights, 2, as_of=float(data.times.max()))
    seeds, _ = history_seeds(load_contexts([ann_id], now=NOW)[ann_id], NOW)
    return {
        "profile": {mug_id: vector_sum[0], pot_id: vector_sum[1], 0: profile.weight_sum},
        "popularity": {[mug_id, pot_id][int(i)]: float(s) for i, s in zip(popular.items, popular.scores, strict=True)},
        "ranking": seeds,
    }


def _assert_all_agree(seen: dict[str, dict[int, float]], mug_id: int, pot_id: int, mug: float, pot: float) -> None:
    for who, weights in seen.items():
        assert weights[mug_id] == pytest.approx(mug, rel=1e-5), who
        assert weights[pot_id] == pytest.approx(pot, rel=1e-5), who
    assert seen["profile"][0] == pytest.approx(mug + pot, rel=1e-5)


def test_profiles_training_and_ranking_read_one_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    mug, pot = product(embedding=basis(0)), product(embedding=basis(1))
    ann = customer()
    event(ann, "view", product=mug)
    event(ann, "add_to_cart", product=pot, days_ago=15)
    purchase(ann, pot, days_ago=30, order_id="o1")
    event(ann, "open")  # says nothing about a product: nobody counts it
    data = load_interactions()
    assert sorted(data.weights.tolist()) == [1.0, 2.0, 3.0]

    # the shipped table: a view 1, a cart 2, a purchase 3, halving every 30 days
    seen = _what_each_sees(ann.pk, mug.pk, pot.pk)
    _assert_all_agree(seen, mug.pk, pot.pk, mug=1.0, pot=2 * 0.5 ** (15 / 30) + 3 * 0.5)

    # change the table and the half-life in customers.behaviour only: all three follow
    monkeypatch.setitem(behaviour.EVENT_WEIGHTS, EventType.VIEW, 0.5)
    monkeypatch.setitem(behaviour.EVENT_WEIGHTS, EventType.ADD_TO_CART, 4.0)
    monkeypatch.setitem(behaviour.EVENT_WEIGHTS, EventType.PURCHASE, 6.0)
    monkeypatch.setattr(behaviour, "HALF_LIFE_DAYS", 10.0)
    changed = _what_each_sees(ann.pk, mug.pk, pot.pk)
    _assert_all_agree(changed, mug.pk, pot.pk, mug=0.5, pot=4 * 0.5 ** 1.5 + 6 * 0.5**3)
    assert sorted(load_interactions().weights.tolist()) == [0.5, 4.0, 6.0]


def test_sql_and_python_decay_agree() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {behaviour.decay_sql('t', '%(now)s')}, {behaviour.weight_sql('kind')} "
            "FROM (VALUES (%(then)s::timestamptz, 'add_to_cart')) AS e(t, kind)",
            {"now": NOW, "then": NOW.replace(month=3)},
        )
        decayed, weight = cursor.fetchone()
    age_days = (NOW - NOW.replace(month=3)).total_seconds() / 86400
    assert decayed == pytest.approx(behaviour.decay(age_days), rel=1e-12)
    assert decayed == pytest.approx(math.pow(0.5, age_days / behaviour.HALF_LIFE_DAYS), rel=1e-12)
    assert weight == behaviour.event_weight("add_to_cart") == 2.0
    assert behaviour.event_weight("open") == 0.0
    np.testing.assert_allclose(behaviour.decay(np.array([0.0, 30.0, 60.0])), [1.0, 0.5, 0.25])


def test_campaign_popularity_weighs_events_by_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The campaign's "popular in the segment" products (copy generation) weigh events by the same table."""
    mug, pot = product(), product()
    ann, bob = customer(), customer()
    event(ann, "view", product=mug)
    event(bob, "view", product=mug)
    purchase(ann, pot, days_ago=1, order_id="o1")
    assert popular_products(None, 2) == [pot, mug]  # a purchase (3) outweighs two views (2)
    monkeypatch.setitem(behaviour.EVENT_WEIGHTS, EventType.VIEW, 2.0)
    assert popular_products(None, 2) == [mug, pot]  # two views (4) now outweigh it
