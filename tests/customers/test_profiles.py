"""Profile math on hand-made events: weights, decay, searches and reviews, incremental == full, interests,
RFM and lifecycle boundaries, lifecycle segments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from customers import behaviour, lifecycle, profiles
from customers.models import CustomerProfile, Lifecycle, Segment
from tests.catalog.builders import product, review, review_insight
from tests.customers.builders import NOW, customer, event, purchase
from tests.vectors import basis, fake_embed

pytestmark = pytest.mark.django_db


def _profile(cid: int) -> CustomerProfile:
    return CustomerProfile.objects.get(customer_id=cid)


def test_event_weights_and_half_life_decay() -> None:
    mug, shoe = product(embedding=basis(0)), product(embedding=basis(1))
    ann = customer()
    purchase(ann, mug, days_ago=0, order_id="o1")  # weight 3, no decay
    event(ann, "view", product=shoe, days_ago=30)  # weight 1, one half-life old -> 0.5
    event(ann, "add_to_cart", product=shoe, days_ago=60)  # weight 2, two half-lives -> 0.5
    event(ann, "open")  # not a product interest: ignored
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    p = _profile(ann.pk)
    expected = 3 * basis(0) + 1.0 * basis(1)
    np.testing.assert_allclose(np.asarray(p.vector_sum), expected, atol=1e-5)
    assert p.weight_sum == pytest.approx(4.0)
    np.testing.assert_allclose(np.asarray(p.vector), expected / np.linalg.norm(expected), atol=1e-5)
    assert p.decayed_at == NOW
    assert behaviour.decay(behaviour.HALF_LIFE_DAYS) == pytest.approx(0.5)


def test_searches_and_own_reviews_contribute() -> None:
    mug = product(embedding=basis(0), title="Ceramic mug", category="Home > Kitchen > Mugs")
    ann = customer()
    event(ann, "search", days_ago=0, query="  Red Teapot ")
    event(ann, "view", product=mug)
    review_insight(review(product=mug, customer=ann, rating=5, text="Lovely", created_at=NOW), embedding=basis(2))
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    p = _profile(ann.pk)
    query = fake_embed(["red teapot"])[0]  # normalised: lower case, trimmed
    np.testing.assert_allclose(np.asarray(p.vector_sum), basis(0) + query, atol=1e-5)
    assert p.weight_sum == pytest.approx(2.0)
    with_review = basis(0) + query + behaviour.REVIEW_WEIGHT * basis(2)
    np.testing.assert_allclose(np.asarray(p.vector), with_review / np.linalg.norm(with_review), atol=1e-5)
    words = dict((k, w) for k, w in p.interests["keywords"])
    assert {"red", "teapot", "ceramic", "mug"} <= set(words)


def test_incremental_update_equals_full_rebuild() -> None:
    items = [product(embedding=basis(i)) for i in range(4)]
    ann, bob = customer(), customer()
    event(ann, "view", product=items[0], days_ago=40)
    purchase(ann, items[1], days_ago=35, order_id="o1")
    event(bob, "search", days_ago=20, query="running shoes")
    profiles.rebuild_profiles(now=NOW - timedelta(days=10), embed_texts=fake_embed)
    # later: new events, some older than the first rebuild's "now" (late arrivals)
    event(ann, "add_to_cart", product=items[2], days_ago=5)
    event(ann, "view", product=items[3], days_ago=15)
    event(bob, "view", product=items[0], days_ago=1)
    event(bob, "search", days_ago=0, query="trail shoes")
    assert profiles.customers_with_new_events() == [ann.pk, bob.pk]
    result = profiles.update_profiles(now=NOW, embed_texts=fake_embed)
    assert result["profiles"] == 2
    incremental = {p.customer_id: p for p in CustomerProfile.objects.all()}
    assert profiles.customers_with_new_events() == []
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    for cid in (ann.pk, bob.pk):
        full = _profile(cid)
        np.testing.assert_allclose(np.asarray(incremental[cid].vector_sum), np.asarray(full.vector_sum), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(np.asarray(incremental[cid].vector), np.asarray(full.vector), atol=1e-5)
        assert incremental[cid].weight_sum == pytest.approx(full.weight_sum, rel=1e-6)
        assert incremental[cid].interests == full.interests
        assert incremental[cid].last_event_id == full.last_event_id


def test_update_of_named_customers_only_and_unknown_ids_ignored() -> None:
    mug = product(embedding=basis(0))
    ann, bob = customer(), customer()
    event(ann, "view", product=mug, days_ago=1)
    event(bob, "view", product=mug, days_ago=1)
    assert profiles.update_profiles([ann.pk, 999_999_999], now=NOW, embed_texts=fake_embed)["profiles"] == 1
    assert CustomerProfile.objects.filter(customer=ann).exists()
    assert not CustomerProfile.objects.filter(customer=bob).exists()


def test_interests_every_category_level_brands_keywords() -> None:
    mug = product(embedding=basis(0), title="Stoneware coffee mug", category="Home > Kitchen > Mugs", brand="Clayco")
    shoe = product(embedding=basis(1), title="Trail running shoe", category="Sports > Running", brand="Fleet")
    ann = customer()
    purchase(ann, mug, days_ago=0, order_id="o1")  # 3
    event(ann, "view", product=shoe)  # 1
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    interests = _profile(ann.pk).interests
    categories = dict((k, w) for k, w in interests["categories"])
    assert categories["Home"] == pytest.approx(0.75)
    assert categories["Home > Kitchen"] == pytest.approx(0.75)
    assert categories["Home > Kitchen > Mugs"] == pytest.approx(0.75)
    assert categories["Sports > Running"] == pytest.approx(0.25)
    assert interests["brands"][0] == ["Clayco", 0.75]
    assert interests["keywords"][0][0] in {"stoneware", "coffee", "mug"}
    assert {"trail", "running", "shoe"} <= {k for k, _ in interests["keywords"]}


@pytest.mark.parametrize(
    ("orders_days_ago", "stage"),
    [
        ([], Lifecycle.PROSPECT),
        ([29.9], Lifecycle.NEW),
        ([60, 10], Lifecycle.ACTIVE),  # first order 60 days ago: no longer new
        ([120, 100, 89.9], Lifecycle.LOYAL),
        ([120, 100, 90.1], Lifecycle.AT_RISK),  # three orders but not recent
        ([40, 89.9], Lifecycle.ACTIVE),
        ([200, 179.9], Lifecycle.AT_RISK),
        ([200, 180.1], Lifecycle.LAPSED),
    ],
)
def test_lifecycle_boundaries(orders_days_ago: list[float], stage: str) -> None:
    days = sorted(orders_days_ago, reverse=True)
    first = NOW - timedelta(days=days[0]) if days else None
    last = NOW - timedelta(days=days[-1]) if days else None
    assert lifecycle.lifecycle_of(len(days), first, last, NOW) == stage


def test_rfm_orders_revenue_scores_and_lifecycle_segments() -> None:
    mug, pot = product(embedding=basis(0)), product(embedding=basis(1))
    buyers = [customer() for _ in range(10)]
    for i, who in enumerate(buyers):
        for n in range(i % 5 + 1):  # 1..5 orders, two lines each in the first
            purchase(who, mug, days_ago=10 * i + n, order_id=f"o-{who.pk}-{n}", value=str(5 * (i + 1)))
        purchase(who, pot, days_ago=10 * i, order_id=f"o-{who.pk}-0", value="1.00")  # second line of the first order
    loner = customer()
    purchase(loner, mug, days_ago=3, order_id="", value="7.50")  # no order id: one order per timestamp
    purchase(loner, pot, days_ago=3, order_id="", value="2.50")
    prospect = customer()
    event(prospect, "view", product=mug, days_ago=1)
    result = profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    first = _profile(buyers[0].pk)
    assert (first.orders, first.revenue) == (1, Decimal("6.00"))
    assert first.recency_days == pytest.approx(0.0)
    assert first.lifecycle == Lifecycle.NEW
    fourth = _profile(buyers[4].pk)  # 5 orders, days 40..44
    assert fourth.orders == 5
    assert fourth.revenue == Decimal("126.00")
    assert fourth.first_order_at == NOW - timedelta(days=44)
    assert fourth.last_order_at == NOW - timedelta(days=40)
    assert fourth.lifecycle == Lifecycle.LOYAL
    assert _profile(loner.pk).orders == 1
    assert _profile(loner.pk).revenue == Decimal("10.00")
    p = _profile(prospect.pk)
    assert (p.lifecycle, p.rfm_score, p.orders, p.recency_days) == (Lifecycle.PROSPECT, "", 0, None)
    scores = {who.pk: _profile(who.pk).rfm_score for who in buyers}
    assert all(len(s) == 3 and set(s) <= set("12345") for s in scores.values())
    assert scores[buyers[0].pk][0] == "5"  # most recent
    assert scores[buyers[9].pk][0] == "1"  # least recent
    assert scores[buyers[4].pk][1] == "5" and scores[buyers[0].pk][1] == "1"  # most / fewest orders
    assert scores[buyers[9].pk][2] == "5"  # most spent
    sizes = {s.key: s.size for s in Segment.objects.filter(kind=Segment.Kind.LIFECYCLE)}
    assert sizes["lifecycle-prospect"] == 1
    assert sum(sizes.values()) == 12
    assert set(sizes) == {lifecycle.lifecycle_key(stage) for stage in Lifecycle}
    assert result["lifecycle"]["prospect"] == 1
    assert _profile(prospect.pk).lifecycle_segment.key == "lifecycle-prospect"  # type: ignore[union-attr]


def test_customer_without_events_gets_an_empty_prospect_profile() -> None:
    ann = customer()
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    p = _profile(ann.pk)
    assert p.vector is None and p.vector_sum is None and p.weight_sum == 0
    assert p.lifecycle == Lifecycle.PROSPECT
    assert p.interests == {"categories": [], "brands": [], "keywords": []}


def test_product_without_embedding_counts_for_interests_not_vector() -> None:
    bare = product(category="Garden")
    ann = customer()
    event(ann, "view", product=bare)
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    p = _profile(ann.pk)
    assert p.vector is None
    assert p.interests["categories"] == [["Garden", 1.0]]
