"""The batched rebuild (SQL sums, sparse products, binary COPY) gives every customer the profile the
per-term computation it replaced gives (`profile_reference.py`): vectors, weights, interests, orders, RFM
figures and lifecycle, on a small shop with decay, searches, reviews, carried weights of purged events,
products without embeddings, erased customers and customers without events, over several batches; an
incremental update lands on the same profile; a rebuild of named customers touches only them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers import profiles, retention
from customers.models import CarriedProductWeight, CarriedSearchWeight, Customer, CustomerProfile, Event, Segment
from tests.catalog.builders import product, review, review_insight
from tests.customers.builders import NOW, customer, event, purchase
from tests.customers.profile_reference import reference_profiles
from tests.vectors import fake_embed

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=3)
KINDS = ["view", "view", "view", "add_to_cart", "purchase", "click", "search", "open"]
QUERIES = ["Red teapot", "red teapot ", "trail shoes", "mug", "  ", "Ceramic Mug & saucer"]


def _unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=384).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _shop(rng: np.random.Generator, n: int = 60) -> dict[str, Any]:
    """Products over three category depths and brands (one without an embedding, one without a brand), `n`
    customers with random events up to 500 days old, reviews, purged old events, an erased customer and one
    without events."""
    categories = ["Home > Kitchen > Mugs", "Home > Kitchen", "Sports > Running > Shoes", "Garden", "Sports"]
    items = [
        product(embedding=_unit(rng), title=f"Stoneware {w} mug {i}", category=categories[i % 5],
                brand=["Clayco", "Fleet", "", "Acme"][i % 4])
        for i, w in enumerate(["red", "blue", "trail", "tea", "coffee", "green", "travel", "big"])
    ]
    items.append(product(title="Bare garden hose", category="Garden > Hoses", brand="Hosy"))  # no embedding
    people = [customer() for _ in range(n)]
    for who in people:
        for _ in range(int(rng.integers(0, 12))):
            kind = KINDS[int(rng.integers(0, len(KINDS)))]
            age = float(rng.uniform(0, 500))
            if kind == "search":
                event(who, kind, days_ago=age, query=QUERIES[int(rng.integers(0, len(QUERIES)))])
            elif kind == "purchase":
                purchase(who, items[int(rng.integers(0, len(items)))], days_ago=age,
                         order_id=f"o-{who.pk}-{int(rng.integers(0, 3))}", value=f"{rng.uniform(1, 90):.2f}")
            elif kind == "open":
                event(who, kind, days_ago=age)
            else:
                event(who, kind, product=items[int(rng.integers(0, len(items)))], days_ago=age)
    for who in people[:6]:
        written = review(product=items[0], customer=who, created_at=NOW - timedelta(days=float(rng.uniform(0, 90))))
        review_insight(written, embedding=_unit(rng))
    review(product=items[1], customer=people[0], created_at=NOW)  # not analysed yet: no embedding
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)  # retention folds only what profiles hold
    retention.purge_old_events(older_than_days=365, now=NOW)  # the oldest events live on as carried weights
    CustomerProfile.objects.all().delete()
    Segment.objects.update(size=0)
    erased = people[7]
    event(erased, "view", product=items[0], days_ago=1)
    Customer.objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    idle = customer()
    return {"people": people, "erased": erased, "idle": idle, "items": items}


def _stored() -> dict[int, CustomerProfile]:
    return {p.customer_id: p for p in CustomerProfile.objects.all()}


def _assert_same(stored: CustomerProfile, expected: dict[str, Any]) -> None:
    cid = stored.customer_id
    for key in ("vector", "vector_sum"):
        value = getattr(stored, key)
        if expected[key] is None:
            assert value is None, (cid, key)
        else:
            np.testing.assert_allclose(np.asarray(value), expected[key], rtol=1e-5, atol=1e-6, err_msg=f"{cid} {key}")
    assert stored.weight_sum == pytest.approx(expected["weight_sum"], rel=1e-9, abs=1e-300), cid
    assert stored.interests == expected["interests"], cid
    for key in ("orders", "revenue", "first_order_at", "last_order_at", "last_seen_at", "recency_days", "lifecycle"):
        assert getattr(stored, key) == expected[key], (cid, key)


def test_batched_rebuild_equals_the_per_term_computation() -> None:
    shop = _shop(np.random.default_rng(3))
    assert CarriedProductWeight.objects.exists() and CarriedSearchWeight.objects.exists()
    profiles.rebuild_profiles(now=LATER, embed_texts=fake_embed, batch_size=25)  # three batches
    stored = _stored()
    ids = sorted(Customer.objects.filter(erased_at__isnull=True).values_list("pk", flat=True))
    assert sorted(stored) == ids
    assert shop["erased"].pk not in stored
    snapshot = Event.objects.aggregate(m=Max("pk"))["m"]
    expected = reference_profiles(ids, now=LATER, snapshot=snapshot, embed_texts=fake_embed)
    for cid in ids:
        _assert_same(stored[cid], expected[cid])
    idle = stored[shop["idle"].pk]
    assert idle.vector is None and idle.interests == {"categories": [], "brands": [], "keywords": []}
    assert any(p.interests["keywords"] and p.vector is not None for p in stored.values())
    assert all(p.lifecycle_segment.key == f"lifecycle-{p.lifecycle.replace('_', '-')}"  # type: ignore[union-attr]
               for p in stored.values())
    buyers = [p for p in stored.values() if p.orders]
    assert buyers and all(len(p.rfm_score) == 3 for p in buyers)


def test_incremental_update_lands_on_the_full_profile() -> None:
    rng = np.random.default_rng(4)
    shop = _shop(rng, n=30)
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed, batch_size=7)
    people = [p for p in shop["people"] if p.pk != shop["erased"].pk]
    for who in people[::3]:  # new events, some older than the last rebuild (late arrivals)
        event(who, "view", product=shop["items"][int(rng.integers(0, 9))], days_ago=-1.0)
        event(who, "search", days_ago=2, query="Blue kettle")
        purchase(who, shop["items"][2], days_ago=-2.0, order_id=f"late-{who.pk}", value=Decimal("12.50"))
    result = profiles.update_profiles(now=LATER, embed_texts=fake_embed, batch_size=4)
    assert result["profiles"] == len(people[::3])
    stored = _stored()
    snapshot = Event.objects.aggregate(m=Max("pk"))["m"]
    expected = reference_profiles([p.pk for p in people[::3]], now=LATER, snapshot=snapshot, embed_texts=fake_embed)
    for cid, want in expected.items():
        _assert_same(stored[cid], want)
        assert stored[cid].last_event_id == snapshot


def test_rebuild_of_named_customers_writes_only_theirs_and_leaves_the_finish() -> None:
    shop = _shop(np.random.default_rng(5), n=12)
    chunk = [shop["people"][1].pk, shop["people"][2].pk, shop["erased"].pk, 999_999_999]
    result = profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed, customer_ids=chunk)
    assert result["profiles"] == 2 and "lifecycle" not in result
    assert sorted(_stored()) == sorted(chunk[:2])
    assert not Segment.objects.filter(kind=Segment.Kind.LIFECYCLE, size__gt=0).exists()  # sizes wait for the finish
    finished = profiles.finish_rebuild(now=NOW)
    assert sum(finished.values()) == 2


def test_a_batch_costs_a_fixed_number_of_queries() -> None:
    """Queries per batch do not grow with its customers or events (Django's cursor: the binary reads and
    the COPY go through psycopg on the same connection and are not counted here)."""
    shop = _shop(np.random.default_rng(6), n=40)
    with CaptureQueriesContext(connection) as small:
        profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed, customer_ids=[p.pk for p in shop["people"][:3]])
    with CaptureQueriesContext(connection) as large:
        profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed, customer_ids=[p.pk for p in shop["people"]])
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("bad", [[1, "abc"], [1, None], [2.5], [True]])
def test_a_customer_id_that_is_not_a_whole_number_is_refused_before_any_write(bad: list[Any]) -> None:
    ann = customer()
    event(ann, "view", product=product(), days_ago=1)
    place = len(bad) - 1
    refused = rf"customer_ids\[{place}\]: .* is not a customer id \(a whole number\)"
    with pytest.raises(ValueError, match=refused):
        profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed, customer_ids=bad)
    with pytest.raises(ValueError, match=refused):
        profiles.update_profiles(bad, now=NOW, embed_texts=fake_embed)
    assert not CustomerProfile.objects.exists()
