"""A small real shop for the ranking tests: two kinds of customers (kitchen, garden), baskets, segments,
profiles and product embeddings written directly as small deterministic vectors (one axis per category,
one small axis per product), so every candidate source has something to find."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalog.models import Product, ProductEmbedding
from customers.models import Customer, CustomerProfile, Event, EventType, Segment
from recommendations.serving import forget_loaded_model
from recommendations.training import train_recommender

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CATEGORIES = {
    "mug": "Home > Kitchen > Mugs",
    "tea": "Home > Kitchen > Tea",
    "tool": "Garden > Tools",
    "book": "Books > Fiction",
}
AXIS = {"mug": 0, "tea": 1, "tool": 2, "book": 3}
_seq = itertools.count(1)


def vector(kind: str, n: int, spread: float = 0.35) -> list[float]:
    v = np.zeros(384, dtype=np.float32)
    v[AXIS[kind]] = 1.0
    v[10 + (n % 300)] = spread
    return (v / np.linalg.norm(v)).tolist()


def category_vector(*kinds: str) -> list[float]:
    v = np.zeros(384, dtype=np.float32)
    for kind in kinds:
        v[AXIS[kind]] = 1.0
    return (v / np.linalg.norm(v)).tolist()


@dataclass
class Shop:
    products: dict[str, Product]
    customers: dict[str, Customer]
    segments: dict[str, Segment]
    extra: dict[str, Any] = field(default_factory=dict)


def event(customer: Customer, product: Product | None, kind: str, days_ago: float, **fields: Any) -> Event:
    return Event.objects.create(
        external_id=f"e{next(_seq)}", customer=customer, product=product, type=kind,
        occurred_at=NOW - timedelta(days=days_ago), **fields,
    )


def build_shop() -> Shop:
    products: dict[str, Product] = {}
    for kind, count in (("mug", 6), ("tea", 4), ("tool", 5), ("book", 4)):
        for i in range(1, count + 1):
            key = f"{kind}{i}"
            products[key] = Product.objects.create(
                sku=key.upper(), title=f"{kind.title()} {i}", category=CATEGORIES[kind], price=Decimal("9.50"),
                attributes={"replenishable": True} if key == "tea1" else {},
            )
    products["mug_inactive"] = Product.objects.create(
        sku="MUG-OLD", title="Retired mug", category=CATEGORIES["mug"], is_active=False
    )
    products["mug_nostock"] = Product.objects.create(
        sku="MUG-OUT", title="Sold-out mug", category=CATEGORIES["mug"], in_stock=False
    )
    for n, (key, product) in enumerate(products.items()):
        kind = "mug" if key.startswith("mug") else key.rstrip("0123456789")
        ProductEmbedding.objects.create(product=product, embedding=vector(kind, n), text_hash=key)

    segments = {
        "kitchen": Segment.objects.create(key="behaviour-kitchen", kind="behavioural", name="Kitchen lovers"),
        "garden": Segment.objects.create(key="behaviour-garden", kind="behavioural", name="Gardeners"),
    }
    customers: dict[str, Customer] = {}
    rng = np.random.default_rng(3)
    mugs = [f"mug{i}" for i in range(1, 7)] + ["mug_inactive", "mug_nostock"]
    for i in range(24):
        c = Customer.objects.create(external_id=f"kitchen-{i}", name=f"Kitchen {i}")
        customers[c.external_id] = c
        CustomerProfile.objects.create(customer=c, vector=category_vector("mug"), behaviour_segment=segments["kitchen"])
        for m in rng.choice(mugs, size=4, replace=False):
            event(c, products[str(m)], EventType.VIEW, float(rng.uniform(8, 50)))
        mug = products[["mug2", "mug3", "mug_inactive", "mug_nostock"][i % 4]]
        tea = products[f"tea{2 + i % 3}"]
        order = f"o-k{i}"
        event(c, mug, EventType.PURCHASE, float(rng.uniform(8, 40)), order_id=order, quantity=1)
        event(c, tea, EventType.PURCHASE, float(rng.uniform(8, 40)), order_id=order, quantity=1)
        if i % 2 == 0:  # a surge this week: mug5 is trending among kitchen customers
            event(c, products["mug5"], EventType.VIEW, 1.0)
            event(c, products["mug5"], EventType.ADD_TO_CART, 0.5)
    for i in range(16):
        c = Customer.objects.create(external_id=f"garden-{i}", name=f"Garden {i}")
        customers[c.external_id] = c
        CustomerProfile.objects.create(customer=c, vector=category_vector("tool"), behaviour_segment=segments["garden"])
        for t in rng.choice([f"tool{j}" for j in range(1, 6)], size=3, replace=False):
            event(c, products[str(t)], EventType.VIEW, float(rng.uniform(8, 50)))
        event(c, products["tool1"], EventType.PURCHASE, float(rng.uniform(8, 40)), order_id=f"o-g{i}")
        event(c, products["tool2"], EventType.PURCHASE, float(rng.uniform(8, 40)), order_id=f"o-g{i}")

    alice = Customer.objects.create(external_id="alice", name="Alice")
    customers["alice"] = alice
    CustomerProfile.objects.create(
        customer=alice, vector=category_vector("mug", "tea"), behaviour_segment=segments["kitchen"],
        interests={"categories": [["Home > Kitchen", 1.0]]},
    )
    event(alice, products["mug1"], EventType.VIEW, 2.0)
    event(alice, products["mug4"], EventType.VIEW, 3.0)
    event(alice, products["mug2"], EventType.PURCHASE, 10.0, order_id="o-alice")
    event(alice, products["tea1"], EventType.PURCHASE, 10.0, order_id="o-alice")
    event(alice, products["tea2"], EventType.ADD_TO_CART, 4.0)
    return Shop(products, customers, segments)


@pytest.fixture
def models_var(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def shop(db: None, models_var: Path) -> Shop:
    forget_loaded_model()
    return build_shop()


@pytest.fixture
def trained_shop(shop: Shop) -> Shop:
    shop.extra["version"] = train_recommender(name="test-v1")
    return shop
