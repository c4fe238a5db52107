"""After a purchase: no substitutes of what was just bought (unless the shop's customers buy that leaf again),
complements bought together by others first and said so, and no reason naming an unrelated purchase."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalog.models import Product
from customers.models import Customer, EventType
from recommendations.ranking import recommend_for_customer
from recommendations.serving import forget_loaded_model
from recommendations.training import replenishable_leaves, train_recommender
from tests.catalog.builders import product
from tests.customers.builders import customer, event, profile

from .conftest import NOW

AXIS = {"phone": 0, "accessory": 1, "pillow": 2, "coffee": 3}
CATEGORIES = {
    "phone": "Electronics > Phones > Smartphones",
    "accessory": "Electronics > Phones > Accessories",
    "pillow": "Home > Bedroom > Pillows",
    "coffee": "Grocery > Coffee > Beans",
}


def _vector(kind: str, n: int) -> list[float]:
    v = np.zeros(384, dtype=np.float32)
    v[AXIS[kind]] = 1.0
    v[10 + n] = 0.3
    return (v / np.linalg.norm(v)).tolist()


def _shop() -> tuple[dict[str, Product], dict[str, Customer]]:
    products: dict[str, Product] = {}
    for n, (key, kind, title) in enumerate((
        ("phone1", "phone", "Phone One"), ("phone2", "phone", "Phone Two"), ("phone3", "phone", "Phone Three"),
        ("phone4", "phone", "Phone Four"), ("case", "accessory", "Phone case"), ("charger", "accessory", "Charger"),
        ("pillow1", "pillow", "Soft pillow"), ("pillow2", "pillow", "Firm pillow"),
        ("coffee1", "coffee", "Espresso beans"), ("coffee2", "coffee", "Filter beans"),
    )):
        products[key] = product(sku=key.upper(), title=title, category=CATEGORIES[kind], price=Decimal("20.00"),
                                embedding=_vector(kind, n))
    people: dict[str, Customer] = {}
    phones = ["phone1", "phone2", "phone3", "phone4"]
    for i in range(16):  # phone buyers: a phone with a case and a charger in one order; all looked at other phones
        c = people[f"phone-{i}"] = customer(external_id=f"phone-{i}")
        profile(c, vector=_vector("phone", 0))
        for other in phones:
            event(c, EventType.VIEW, product=products[other], days_ago=20.0 + i % 5, now=NOW)
        for key in (phones[i % 4], "case", "charger"):
            event(c, EventType.PURCHASE, product=products[key], days_ago=15.0 + i % 7, now=NOW, order_id=f"p{i}")
        if i == 0:  # one phone buyer also bought a pillow, months apart: no link worth telling
            event(c, EventType.PURCHASE, product=products["pillow1"], days_ago=120.0, now=NOW, order_id="p0-home")
    for i in range(8):  # home customers: pillows
        c = people[f"home-{i}"] = customer(external_id=f"home-{i}")
        profile(c, vector=_vector("pillow", 6))
        event(c, EventType.VIEW, product=products["pillow2"], days_ago=12.0, now=NOW)
        event(c, EventType.PURCHASE, product=products[f"pillow{1 + i % 2}"], days_ago=10.0, now=NOW,
              order_id=f"h{i}")
    for i in range(8):  # coffee drinkers buy beans again and again
        c = people[f"coffee-{i}"] = customer(external_id=f"coffee-{i}")
        profile(c, vector=_vector("coffee", 8))
        for order in range(3):
            event(c, EventType.PURCHASE, product=products[f"coffee{1 + (i + order) % 2}"], days_ago=10.0 + 20 * order,
                  now=NOW, order_id=f"c{i}-{order}")
    bob = people["bob"] = customer(external_id="bob")
    # no profile vector yet (profiles are rebuilt nightly): the history sources speak for him
    for key in ("phone1", "phone2", "phone3"):
        event(bob, EventType.VIEW, product=products[key], days_ago=3.0, now=NOW)
    event(bob, EventType.PURCHASE, product=products["phone1"], days_ago=1.0, now=NOW, order_id="bob-1")
    event(bob, EventType.PURCHASE, product=products["coffee1"], days_ago=2.0, now=NOW, order_id="bob-0")
    return products, people


@pytest.fixture
def phone_shop(db: None, settings: Any, tmp_path: Path) -> tuple[dict[str, Product], dict[str, Customer]]:
    settings.VAR_DIR = tmp_path
    forget_loaded_model()
    shop = _shop()
    train_recommender(name="complements-v1")
    return shop


def test_after_a_phone_no_other_phones_and_the_accessories_bought_together(phone_shop: Any) -> None:
    _, people = phone_shop
    result = recommend_for_customer(people["bob"], k=4, now=NOW)
    items = {item.product.sku: item for item in result.items}
    assert not {"PHONE1", "PHONE2", "PHONE3", "PHONE4"} & set(items), list(items)
    assert {"CASE", "CHARGER"} <= set(items)
    assert result.items[0].product.sku in ("CASE", "CHARGER")  # boosted to the top
    assert items["CASE"].reason == items["CHARGER"].reason == "Bought together with Phone One"


def test_substitutes_are_demoted_not_dropped_when_asked_for(phone_shop: Any) -> None:
    _, people = phone_shop
    result = recommend_for_customer(people["bob"], k=3, category="Electronics > Phones > Smartphones", now=NOW)
    assert {item.product.sku for item in result.items} == {"PHONE2", "PHONE3", "PHONE4"}


def test_a_replenishable_leaf_is_still_recommended_after_a_purchase(phone_shop: Any) -> None:
    _, people = phone_shop
    assert replenishable_leaves() == ["beans"]  # bought in 2+ orders by every coffee drinker; phones once
    result = recommend_for_customer(people["bob"], k=10, category="Grocery", now=NOW)
    assert {item.product.sku for item in result.items} == {"COFFEE1", "COFFEE2"}


def test_a_filtered_item_never_names_an_unrelated_purchase(phone_shop: Any) -> None:
    _, people = phone_shop
    result = recommend_for_customer(people["bob"], k=5, category="Home", now=NOW)
    assert result.items and all(item.product.category.startswith("Home") for item in result.items)
    for item in result.items:
        assert "Phone" not in item.reason and "Espresso" not in item.reason, item.reason

