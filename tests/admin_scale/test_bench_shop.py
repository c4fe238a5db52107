"""The benchmark shop, built small on the test database: the streamed, chunked COPY writes every customer and
event (several chunks), events follow the shop's rules, and a second build finds the shop instead of
writing it again."""

from __future__ import annotations

import pytest
from django.db.models import Count, Q

from benchmarks import shop
from benchmarks.shop import PREFIX, ShopSize, build_shop
from customers.models import Customer, Event

pytestmark = pytest.mark.django_db(transaction=True)  # the build creates an index: no pending FK checks


def test_the_shop_is_streamed_in_chunks_and_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shop, "CHUNK_ROWS", 100)  # several chunks for customers and events
    size = ShopSize(products=300, customers=250, events_per_customer=3, categories=12, days=30)
    counts = build_shop(size)
    assert counts["customers"] == Customer.objects.filter(external_id__startswith=PREFIX).count() == 250
    events = Event.objects.filter(external_id__startswith=PREFIX)
    assert counts["events"] == events.count() > 250  # every customer has at least one event, about 4 on average
    assert events.values("customer_id").distinct().count() == 250
    assert not events.filter(product__isnull=True).exists()
    purchases = events.filter(type="purchase")
    assert purchases.count() > 0 and not purchases.filter(Q(order_id="") | Q(value__isnull=True)).exists()
    assert not events.exclude(type="purchase").filter(Q(value__isnull=False) | ~Q(order_id="")).exists()
    kinds = dict(events.values_list("type").annotate(n=Count("pk")).values_list("type", "n"))
    assert set(kinds) == {"purchase", "add_to_cart", "view"} and kinds["view"] > kinds["purchase"]
    again = build_shop(size)
    assert again["events"] == counts["events"] and again["embeddings_rewritten"] is False
