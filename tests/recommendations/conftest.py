"""A small real shop for the ranking tests: two kinds of customers (kitchen, garden), baskets, segments,
profiles and product embeddings written directly as small deterministic vectors (one axis per category,
one small axis per product), so every candidate source has something to find."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalog.models import Product
from customers.models import Customer, EventType, Segment
from recommendations.serving import forget_loaded_model
from recommendations.training import train_recommender
from tests.catalog.builders import product
from tests.customers.builders import customer, event, profile, segment

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CATEGORIES = {
    "mug": "Home > Kitchen > Mugs",
    "tea": "Home > Kitchen > Tea",
    "tool": "Garden > Tools",
    "book": "Books > Fiction",
}
AXIS = {"mug": 0, "tea": 1, "tool": 2, "book": 3}


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


def build_shop() -> Shop:
    products: dict[str, Product] = {}
    n = 0
    for kind, count in (("mug", 6), ("tea", 4), ("tool", 5), ("book", 4)):
        for i in range(1, count + 1):
            key = f"{kind}{i}"
            products[key] = product(
                sku=key.upper(), title=f"{kind.title()} {i}", category=CATEGORIES[kind], price=Decimal("9.50"),
                attributes={"replenishable": True} if key == "tea1" else {}, embedding=vector(kind, n),
            )
            n += 1
    products["mug_inactive"] = product(
        sku="MUG-OLD", title="Retired mug", category=CATEGORIES["mug"], is_active=False, embedding=vector("mug", n)
    )
    products["mug_nostock"] = product(
        sku="MUG-OUT", title="Sold-out mug", category=CATEGORIES["mug"], in_stock=False, embedding=vector("mug", n + 1)
    )

    segments = {
        "kitchen": segment(key="behaviour-kitchen", name="Kitchen lovers"),
        "garden": segment(key="behaviour-garden", name="Gardeners"),
    }
    customers: dict[str, Customer] = {}
    rng = np.random.default_rng(3)
    mugs = [f"mug{i}" for i in range(1, 7)] + ["mug_inactive", "mug_nostock"]
    for i in range(24):
        c = customer(external_id=f"kitchen-{i}", name=f"Kitchen {i}")
        customers[c.external_id] = c
        profile(c, vector=category_vector("mug"), behaviour_segment=segments["kitchen"])
        for m in rng.choice(mugs, size=4, replace=False):
            event(c, EventType.VIEW, product=products[str(m)], days_ago=float(rng.uniform(8, 50)), now=NOW)
        mug = products[["mug2", "mug3", "mug_inactive", "mug_nostock"][i % 4]]
        tea = products[f"tea{2 + i % 3}"]
        order = f"o-k{i}"
        for item in (mug, tea):
            event(c, EventType.PURCHASE, product=item, days_ago=float(rng.uniform(8, 40)), now=NOW, order_id=order,
                  quantity=1)
        if i % 2 == 0:  # a surge this week: mug5 is trending among kitchen customers
            event(c, EventType.VIEW, product=products["mug5"], days_ago=1.0, now=NOW)
            event(c, EventType.ADD_TO_CART, product=products["mug5"], days_ago=0.5, now=NOW)
    for i in range(16):
        c = customer(external_id=f"garden-{i}", name=f"Garden {i}")
        customers[c.external_id] = c
        profile(c, vector=category_vector("tool"), behaviour_segment=segments["garden"])
        for t in rng.choice([f"tool{j}" for j in range(1, 6)], size=3, replace=False):
            event(c, EventType.VIEW, product=products[str(t)], days_ago=float(rng.uniform(8, 50)), now=NOW)
        for tool in ("tool1", "tool2"):
            event(c, EventType.PURCHASE, product=products[tool], days_ago=float(rng.uniform(8, 40)), now=NOW,
                  order_id=f"o-g{i}")

    alice = customer(external_id="alice", name="Alice")
    customers["alice"] = alice
    profile(
        alice, vector=category_vector("mug", "tea"), behaviour_segment=segments["kitchen"],
        interests={"categories": [["Home > Kitchen", 1.0]]},
    )
    event(alice, EventType.VIEW, product=products["mug1"], days_ago=2.0, now=NOW)
    event(alice, EventType.VIEW, product=products["mug4"], days_ago=3.0, now=NOW)
    event(alice, EventType.PURCHASE, product=products["mug2"], days_ago=10.0, now=NOW, order_id="o-alice")
    event(alice, EventType.PURCHASE, product=products["tea1"], days_ago=10.0, now=NOW, order_id="o-alice")
    event(alice, EventType.ADD_TO_CART, product=products["tea2"], days_ago=4.0, now=NOW)
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
