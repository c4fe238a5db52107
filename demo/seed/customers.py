"""Planning the demo customers: lifecycles (new, loyal, regular, lapsed, browser, dormant), 1-3 preferred
categories and a few preferred brands, so profiles, segments and recommendations have structure to find; a
home time zone (from the city; known to the shop for some), an hour of their own and a habit of keeping it,
so a send-time estimate has something to find."""

from __future__ import annotations

from datetime import datetime, timedelta

from .. import catalog_data, people_data
from .options import CUSTOMER_PREFIX
from .plan import (
    HABIT_RANGE,
    HISTORY_DAYS,
    HOUR_WEIGHTS,
    HOURS,
    KNOWN_ZONE_SHARE,
    LIFECYCLES,
    PlannedCustomer,
    PlanState,
    weighted_sample,
)


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def plan_customers(shop: PlanState) -> None:
    rng = shop.rng
    names = list(LIFECYCLES)
    shares = [LIFECYCLES[name].share for name in names]
    locales = people_data.LOCALES
    emails: dict[str, int] = {}
    categories = catalog_data.CATEGORIES
    stocked = sorted(shop.by_category)
    for index in range(shop.options.customers):
        lifecycle = rng.choices(names, shares)[0]
        locale, _, country, cities = rng.choices(locales, [loc[1] for loc in locales])[0]
        name, local_part = _name(shop, locale)
        email = _email(shop, local_part, emails)
        created, active_from, active_until = _lifetime(shop, lifecycle)
        n_categories = min(len(stocked), rng.choices((1, 2, 3), (0.3, 0.45, 0.25))[0])
        preferred = weighted_sample(rng, stocked, [categories[ci].weight for ci in stocked], n_categories)
        weights = sorted((rng.uniform(0.2, 1.0) for _ in preferred), reverse=True)
        tier = rng.choice((0.8, 1.0, 1.3))
        brands: set[str] = set()
        for ci in preferred:
            choices = list(categories[ci].brands)
            affinity = [1.0 / (0.15 + abs(tier - b.tier)) for b in choices]
            for brand in weighted_sample(rng, choices, affinity, rng.choice((1, 1, 2))):
                brands.add(brand.name)
        sources = people_data.SIGNUP_SOURCES
        attributes = {
            "country": country,
            "city": rng.choice(cities),
            "signup_source": rng.choices([s[0] for s in sources], [s[1] for s in sources])[0],
        }
        shop.customers.append(
            PlannedCustomer(
                index=index,
                external_id=f"{CUSTOMER_PREFIX}{index + 1:05d}",
                name=name,
                email=email,
                locale=locale,
                consent=rng.random() < 0.8,
                attributes=attributes,
                created_at=created,
                lifecycle=lifecycle,
                active_from=active_from,
                active_until=active_until,
                categories=preferred,
                category_weights=weights,
                brands=frozenset(brands),
                bias=rng.gauss(0, 0.06) + (0.03 if lifecycle == "loyal" else 0.0),
            )
        )
        _plan_hours(shop, shop.customers[-1])


def _plan_hours(shop: PlanState, c: PlannedCustomer) -> None:
    """Their home zone (from their city), whether the shop knows it, their own hour and how strong a habit."""
    rng = shop.hours_rng
    c.home_zone = people_data.CITY_ZONES.get(str(c.attributes.get("city")), "UTC")
    c.timezone = c.home_zone if rng.random() < KNOWN_ZONE_SHARE else ""
    c.own_hour = rng.choices(HOURS, HOUR_WEIGHTS)[0]
    c.habit = rng.uniform(*HABIT_RANGE)


def _name(shop: PlanState, locale: str) -> tuple[str, str]:
    rng = shop.rng
    if locale == "zh-CN":
        surname, surname_py = rng.choice(people_data.CHINESE_SURNAMES)
        given, given_py = rng.choice(people_data.CHINESE_GIVEN_NAMES)
        return surname + given, rng.choice((f"{given_py}.{surname_py}", f"{surname_py}{given_py}"))
    groups = people_data.NAME_GROUPS
    _, firsts, lasts = rng.choices(groups, [group[0] for group in groups])[0]
    first, last = rng.choice(firsts), rng.choice(lasts)
    f, la = _ascii(first), _ascii(last)
    local = rng.choice((f"{f}.{la}", f"{f}{la}", f"{f}_{la}", f"{f[0]}{la}", f"{f}.{la}{rng.randint(1, 99)}"))
    return f"{first} {last}", local


def _email(shop: PlanState, local: str, taken: dict[str, int]) -> str:
    domain = shop.rng.choice(people_data.EMAIL_DOMAINS)
    address = f"{local}@{domain}"
    if address in taken:
        taken[address] += 1
        address = f"{local}{taken[address]}@{domain}"
    taken.setdefault(address, 1)
    return address


def _lifetime(shop: PlanState, lifecycle: str) -> tuple[datetime, datetime, datetime]:
    """(signed up, first active, last active) for a lifecycle."""
    rng, start, anchor = shop.rng, shop.start, shop.anchor
    if lifecycle == "new":
        created = anchor - timedelta(days=rng.uniform(2, 45))
        until = anchor
    elif lifecycle == "loyal":
        created = start - timedelta(days=rng.uniform(30, 700))
        until = anchor
    elif lifecycle == "lapsed":
        early = rng.random() < 0.7
        created = start - timedelta(days=rng.uniform(0, 400)) if early else start + timedelta(days=rng.uniform(0, 60))
        until = anchor - timedelta(days=rng.uniform(95, 200))
    elif lifecycle == "regular":
        early = rng.random() < 0.6
        created = start - timedelta(days=rng.uniform(0, 500)) if early else start + timedelta(days=rng.uniform(0, 150))
        until = anchor
    else:  # browser, dormant
        created = start + timedelta(days=rng.uniform(-300, HISTORY_DAYS - 10))
        until = anchor
    created = created.replace(microsecond=0)
    active_from = max(created, start)
    return created, active_from, max(until, active_from + timedelta(days=14))
