"""Planning the demo behaviour: newsletters (opens, clicks, a few unsubscribes) and browsing sessions
(search -> views -> add to cart -> purchase) that follow each customer's preferences, with orders of
several lines, co-purchases (phone + case, espresso machine + beans), repeat purchases of consumables
and abandoned carts."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from customers.models import EventType
from customers.send_time import next_send_time

from .. import catalog_data
from ..catalog_data import Category, ProductType
from .options import CURRENCY
from .plan import HISTORY_DAYS, PlannedCustomer, PlanState, weighted_sample

LAPSED_OPEN_RATE = 0.06  # a lapsed customer still gets newsletters, but rarely opens them


def plan_events(shop: PlanState) -> None:
    """Newsletters first (they are scheduled by the shop), then browsing sessions that use the rest
    of the event budget. Sessions per customer follow lifecycle and a long-tailed activity level;
    the running events-per-session average steers the total close to the target."""
    customers = shop.customers
    _plan_newsletters(shop)
    budget = max(0, shop.options.events - len(shop.events))
    rng = shop.rng
    weights = []
    for c in customers:
        active_days = max(0.0, (c.active_until - c.active_from).total_seconds() / 86400)
        weights.append(c.life.session_rate * active_days / HISTORY_DAYS * math.exp(rng.gauss(0, 0.55)))
    order = list(range(len(customers)))
    rng.shuffle(order)
    remaining_weight = sum(weights)
    produced, sessions = 0, 0
    for ci in order:
        weight = weights[ci]
        if remaining_weight <= 0:
            break
        per_session = produced / sessions if sessions >= 20 else 4.0
        expected = weight / remaining_weight * max(0, budget - produced) / per_session
        remaining_weight -= weight
        n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        before = len(shop.events)
        _customer_sessions(shop, customers[ci], n)
        produced += len(shop.events) - before
        sessions += n


def _customer_sessions(shop: PlanState, c: PlannedCustomer, n: int) -> None:
    times = sorted(shop.time_on(c.active_from, c.active_until, c) for _ in range(n))
    for at in times:
        _session(shop, c, at)


def _pick_category(shop: PlanState, c: PlannedCustomer) -> int:
    if c.categories and shop.rng.random() < 0.85:
        return shop.rng.choices(c.categories, c.category_weights)[0]
    stocked = sorted(shop.by_category)
    return shop.rng.choices(stocked, [catalog_data.CATEGORIES[i].weight for i in stocked])[0]


def _candidates(
    shop: PlanState, pool: Iterable[int], c: PlannedCustomer, at: datetime
) -> tuple[list[int], list[float]]:
    """The products of `pool` on sale at `at`, weighted by popularity and the customer's brands."""
    chosen, weights = [], []
    for pi in pool:
        product = shop.products[pi]
        if product.available(at):
            chosen.append(pi)
            weights.append(product.popularity * (2.5 if product.brand in c.brands else 1.0))
    return chosen, weights


def _session(
    shop: PlanState, c: PlannedCustomer, at: datetime, first: int | None = None, source: str = "browse"
) -> None:
    """One visit: views (after a search, a category browse, a reorder or a newsletter click), carts, and
    perhaps an order with co-purchases."""
    rng = shop.rng
    session = shop.new_session()
    clock = at
    viewed: list[int] = []

    if first is not None:
        viewed.append(first)
    elif c.bought_consumables and rng.random() < (0.35 if c.lifecycle == "loyal" else 0.12):
        viewed.append(rng.choice(c.bought_consumables))  # "buy it again"
        source = "reorder"
    else:
        ci = _pick_category(shop, c)
        category = catalog_data.CATEGORIES[ci]
        pool = shop.by_category[ci]
        if rng.random() < 0.7:  # most sessions stay within one kind of product
            types = [t for t in category.types if t.key in shop.by_type]
            ptype = rng.choices(types, [t.weight for t in types])[0]
            pool = shop.by_type[ptype.key]
        else:
            ptype = shop.products[rng.choice(pool)].ptype
        candidates, weights = _candidates(shop, pool, c, clock)
        if not candidates:
            return
        if rng.random() < 0.35:
            shop.add_event(clock, c.index, EventType.SEARCH, query=_query(shop, c, category, ptype),
                        attributes={"session": session, "results": len(candidates)})
            source = "search"
            clock += timedelta(seconds=rng.randint(3, 40))
        n_views = min(len(candidates), 1 + min(6, int(rng.expovariate(0.55))))
        viewed = weighted_sample(rng, candidates, weights, n_views)

    cart: list[int] = []
    for pi in viewed:
        shop.add_event(clock, c.index, EventType.VIEW, product=pi, attributes={"session": session, "source": source})
        clock += timedelta(seconds=rng.randint(20, 240))
        product = shop.products[pi]
        p_cart = c.life.p_cart * (2.5 if source in ("reorder", "email") else 1.0)
        p_cart *= 1.3 if product.brand in c.brands else 1.0
        if product.purchasable(clock) and rng.random() < min(0.9, p_cart):
            shop.add_event(clock, c.index, EventType.ADD_TO_CART, product=pi, attributes={"session": session})
            cart.append(pi)
            clock += timedelta(seconds=rng.randint(10, 120))
        source = "browse" if source == "search" else source
    if not cart or rng.random() >= c.life.p_buy * (1.2 if source == "reorder" else 1.0):
        return  # browsing only, or an abandoned cart

    for pi in list(cart):  # co-purchases: a case with the phone, beans with the machine
        for key, probability in shop.products[pi].ptype.complements:
            if key in shop.by_type and rng.random() < probability:
                extra = _complement(shop, c, pi, key, clock)
                if extra is not None and extra not in cart:
                    shop.add_event(clock, c.index, EventType.VIEW, product=extra,
                                attributes={"session": session, "source": "recommendation"})
                    clock += timedelta(seconds=rng.randint(15, 90))
                    shop.add_event(clock, c.index, EventType.ADD_TO_CART, product=extra,
                                attributes={"session": session})
                    clock += timedelta(seconds=rng.randint(5, 60))
                    cart.append(extra)
    clock += timedelta(seconds=rng.randint(60, 600))
    if clock >= shop.anchor:
        return
    order = shop.new_order()
    for pi in cart:
        product = shop.products[pi]
        most = product.ptype.max_quantity
        quantity = 1 if most == 1 or rng.random() < 0.7 else rng.randint(2, most)
        shop.add_event(
            clock, c.index, EventType.PURCHASE, product=pi, order=order, quantity=quantity,
            value=product.price * quantity,
            attributes={"session": session, "currency": CURRENCY, "unit_price": str(product.price)},
        )
        shop.purchases.append((c.index, pi, clock))
        if product.ptype.consumable and pi not in c.bought_consumables:
            c.bought_consumables.append(pi)


def _complement(shop: PlanState, c: PlannedCustomer, pi: int, key: str, at: datetime) -> int | None:
    product = shop.products[pi]
    pool = [i for i in shop.by_type[key] if shop.products[i].purchasable(at)]
    if product.ptype.key == "smartphone":
        phone = f"{product.brand} {product.attributes['model']}"
        matching = [i for i in pool if shop.products[i].fits == phone]
        pool = matching or pool
    if not pool:
        return None
    candidates, weights = _candidates(shop, pool, c, at)
    return shop.rng.choices(candidates, weights)[0] if candidates else None


def _query(shop: PlanState, c: PlannedCustomer, category: Category, ptype: ProductType) -> str:
    rng = shop.rng
    roll = rng.random()
    brands = sorted(b.name for b in category.brands if b.name in c.brands)
    if roll < 0.2 and brands:
        query = f"{rng.choice(brands)} {ptype.search_noun}"
    elif roll < 0.3 and "color" in ptype.attributes:
        query = f"{rng.choice(ptype.attributes['color'])} {ptype.search_noun}"
    elif roll < 0.36:
        low, high = ptype.price
        query = f"{ptype.search_noun} under {int(round((low + high) / 2, -1))}"
    else:
        query = rng.choice(ptype.searches)
    if "{phone}" in query:
        phones = [shop.products[i].fits or "" for i in shop.by_type.get(ptype.key, [])]
        query = query.replace("{phone}", rng.choice([p for p in phones if p] or list(catalog_data.FALLBACK_PHONES)))
    return query.lower()


def _plan_newsletters(shop: PlanState) -> None:
    """Monthly-ish newsletters to consenting customers: opens, clicks that lead to a product, a few
    unsubscribes. Clicks by active customers sometimes turn into a visit that ends in an order."""
    rng = shop.rng
    per_customer = shop.options.events / max(1, shop.options.customers)
    n_sends = max(2, min(9, round(per_customer * 0.45)))
    if shop.options.events == 0:
        return
    stocked = sorted(shop.by_category)
    sends = []
    for i in range(n_sends):
        when = shop.start + timedelta(days=12 + i * (HISTORY_DAYS - 20) / n_sends)
        when = when.replace(hour=9, minute=30, second=0, microsecond=0)
        ci = stocked[i % len(stocked)] if i % 3 else rng.choice(stocked)
        category = catalog_data.CATEGORIES[ci]
        subject = rng.choice(category.newsletter_subjects)
        sends.append((f"demo-newsletter-{when:%Y-%m-%d}", when, ci, subject))
    for c in shop.customers:
        if not c.consent:
            continue
        for key, when, ci, subject in sends:
            if when < c.created_at:
                continue
            info = {"campaign": key, "subject": subject, "channel": "email"}
            lapsed = c.lifecycle == "lapsed" and when > c.active_until
            p_open = LAPSED_OPEN_RATE if lapsed else c.life.p_open
            if rng.random() < 0.0015:
                at = when + timedelta(hours=rng.uniform(0.2, 30))
                shop.add_event(at, c.index, EventType.UNSUBSCRIBE, attributes=info)
                c.consent = False
                break
            if rng.random() >= p_open:
                continue
            opened = when + timedelta(hours=min(72.0, rng.expovariate(1 / 6)))
            if shop.hours_rng.random() < c.habit:  # opened at their own hour, the next time it comes round
                hour = c.hour_of_day(shop.hours_rng)
                opened = next_send_time(when, hour, ZoneInfo(c.home_zone)) + timedelta(
                    minutes=shop.hours_rng.uniform(0, 55)
                )
            shop.add_event(opened, c.index, EventType.OPEN, attributes=info)
            p_click = 0.35 if ci in c.categories else 0.12
            if rng.random() >= p_click:
                continue
            clicked = opened + timedelta(seconds=rng.randint(5, 180))
            candidates, weights = _candidates(shop, shop.by_category[ci], c, clicked)
            if not candidates:
                continue
            pi = rng.choices(candidates, weights)[0]
            shop.add_event(clicked, c.index, EventType.CLICK, product=pi, attributes=info)
            visit = clicked + timedelta(seconds=rng.randint(2, 15))
            if c.active_from <= visit < c.active_until and rng.random() < 0.5:
                _session(shop, c, visit, first=pi, source="email")
            else:
                session = shop.new_session()
                shop.add_event(visit, c.index, EventType.VIEW, product=pi,
                            attributes={"session": session, "source": "email"})
