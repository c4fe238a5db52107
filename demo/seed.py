"""Seed a believable, reproducible demo shop so that every pipeline step has something to show.

`seed_shop(options, progress)` is the one entry point; `manage.py seed_demo` and the `seed_demo` job
both call it. It first plans the whole shop in memory from `random.Random(seed)` and a fixed anchor date
(same seed + same anchor = same rows, byte for byte), then writes it with `bulk_create` in a single
transaction, so a failure leaves nothing half-written.

Demo rows are recognisable by their keys (SKU `DEMO-00001`, customer `demo-c-00001`, review `demo-r-...`,
event `demo-e-...`, campaign names starting with `[Demo]`). A second run skips when demo data exists;
`force` upserts every demo row by its key and deletes demo rows the new plan no longer has. Rows that
are not demo rows are never written or deleted, although deleting a stale demo product or customer
applies the models' usual on-delete rules to whatever points at it.

What the plan contains, and why:
- products across the categories of `catalog_data`, each with a latent quality and per-aspect
  strengths, so reviews of different products praise and blame different things (pain points differ);
- customers with lifecycles (new, loyal, regular, lapsed, browser, dormant), 1-3 preferred categories
  and a few preferred brands, so profiles, segments and recommendations have structure to find;
- browsing sessions (search -> views -> add to cart -> purchase) that follow those preferences, with
  orders of several lines, co-purchases (phone + case, espresso machine + beans), repeat purchases of
  consumables, abandoned carts, email opens, clicks and a few unsubscribes;
- reviews mostly by customers who bought the product, written after the purchase, about 5% in Chinese.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

from campaigns.models import Campaign
from catalog.models import Product, Review
from customers.models import Customer, Event, EventType

from . import catalog_data, people_data
from .catalog_data import Category, ProductType
from .reviews import ReviewSubject, write_review

SKU_PREFIX = "DEMO-"
CUSTOMER_PREFIX = "demo-c-"
REVIEW_PREFIX = "demo-r-"
EVENT_PREFIX = "demo-e-"
ORDER_PREFIX = "demo-o-"
SESSION_PREFIX = "demo-s-"
CAMPAIGN_PREFIX = "[Demo] "
REVIEW_SOURCE = "demo"
CURRENCY = "USD"

HISTORY_DAYS = 270  # events cover about nine months before the anchor
BATCH_SIZE = 2000
LOCK_KEY = 0x64656D6F  # pg_advisory_xact_lock key: two seeds never write at once

# Limits follow the zero-padded key widths, so keys sort in creation order.
LIMITS = {"products": 99_999, "customers": 99_999, "events": 9_999_999, "reviews": 999_999}

ProgressCallback = Callable[[str, int, int], None]
"""progress(stage, rows_done_now, rows_total): called after each written batch."""

T = TypeVar("T")


# --- options and report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedOptions:
    """Size and identity of the demo shop. The same seed and anchor always give the same data."""

    seed: int = 42
    products: int = 300
    customers: int = 3000
    events: int = 60_000  # an approximate target; the simulation lands within a few percent
    reviews: int = 4000
    anchor: date | None = None  # events end at midnight UTC of this day; None = today (UTC)
    force: bool = False

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            minimum = 1 if name in ("products", "customers") else 0
            if not isinstance(value, int) or not minimum <= value <= limit:
                raise ValueError(f"{name} must be an integer from {minimum} to {limit}, not {value!r}")

    @property
    def anchor_date(self) -> date:
        return self.anchor or timezone.now().astimezone(UTC).date()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SeedOptions:
        """Build options from JSON-ish job parameters (anchor as "YYYY-MM-DD"); unknown keys are an error."""
        unknown = sorted(set(params) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown seed_demo option(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in params.items():
            if value is None:
                continue
            if key == "anchor":
                values[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
            elif key == "force":
                values[key] = bool(value)
            else:
                values[key] = int(value)
        return cls(**values)


@dataclass
class SeedReport:
    skipped: bool
    counts: dict[str, int]
    seconds: float
    seed: int
    anchor: str
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- in-memory plan -------------------------------------------------------------------------------------


@dataclass
class PlannedProduct:
    index: int
    sku: str
    category: Category
    category_index: int
    ptype: ProductType
    brand: str
    title: str
    description: str
    price: Decimal
    attributes: dict[str, Any]
    created_at: datetime
    quality: float
    strengths: dict[str, float]
    popularity: float
    inactive_since: datetime | None = None
    out_of_stock_since: datetime | None = None
    fits: str | None = None  # the phone a case or screen protector is made for

    def available(self, at: datetime) -> bool:
        return self.created_at <= at and (self.inactive_since is None or at < self.inactive_since)

    def purchasable(self, at: datetime) -> bool:
        return self.available(at) and (self.out_of_stock_since is None or at < self.out_of_stock_since)


@dataclass(frozen=True)
class Lifecycle:
    share: float
    session_rate: float  # sessions per active day, relative to a regular customer
    p_cart: float  # chance a viewed product goes into the cart
    p_buy: float  # chance a session with a full cart ends in an order
    p_open: float  # chance of opening a newsletter


LIFECYCLES: dict[str, Lifecycle] = {
    "new": Lifecycle(0.14, 1.5, 0.2, 0.42, 0.45),
    "loyal": Lifecycle(0.13, 2.6, 0.28, 0.68, 0.5),
    "regular": Lifecycle(0.33, 1.0, 0.18, 0.48, 0.3),
    "lapsed": Lifecycle(0.20, 1.3, 0.22, 0.52, 0.25),
    "browser": Lifecycle(0.14, 0.8, 0.07, 0.2, 0.2),
    "dormant": Lifecycle(0.06, 0.0, 0.0, 0.0, 0.08),
}
LAPSED_OPEN_RATE = 0.06  # a lapsed customer still gets newsletters, but rarely opens them

# Shoppers browse at lunch and in the evening.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5, 6.5, 7, 6.5, 4.5, 2.5)
HOURS = tuple(range(24))


@dataclass
class PlannedCustomer:
    index: int
    external_id: str
    name: str
    email: str
    locale: str
    consent: bool
    attributes: dict[str, Any]
    created_at: datetime
    lifecycle: str
    active_from: datetime
    active_until: datetime
    categories: list[int]  # preferred category indexes
    category_weights: list[float]
    brands: frozenset[str]
    bias: float  # how generous this person is with stars
    bought_consumables: list[int] = field(default_factory=list)

    @property
    def life(self) -> Lifecycle:
        return LIFECYCLES[self.lifecycle]


@dataclass
class PlannedEvent:
    occurred_at: datetime
    seq: int  # creation order: breaks ties so equal timestamps keep their causal order
    customer: int
    type: str
    product: int | None = None
    query: str = ""
    order: int | None = None
    quantity: int | None = None
    value: Decimal | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedReview:
    customer: int
    product: int
    created_at: datetime
    rating: int
    language: str
    title: str
    text: str


@dataclass
class ShopPlan:
    products: list[PlannedProduct]
    customers: list[PlannedCustomer]
    events: list[PlannedEvent]
    reviews: list[PlannedReview]


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


class Planner:
    """Builds the whole shop in memory. Only `self.rng` draws random numbers, in a fixed order."""

    def __init__(self, options: SeedOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        anchor = options.anchor_date
        self.anchor = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
        self.start = self.anchor - timedelta(days=HISTORY_DAYS)
        self.products: list[PlannedProduct] = []
        self.customers: list[PlannedCustomer] = []
        self.events: list[PlannedEvent] = []
        self.reviews: list[PlannedReview] = []
        self._seq = itertools.count()
        self._sessions = itertools.count(1)
        self._orders = itertools.count(1)
        self.purchases: list[tuple[int, int, datetime]] = []  # (customer, product, when)
        self.by_category: dict[int, list[int]] = {}
        self.by_type: dict[str, list[int]] = {}

    # -- helpers --

    def _days(self, days: float) -> timedelta:
        return timedelta(days=days)

    def _time_on(self, low: datetime, high: datetime) -> datetime:
        """A moment between low and high, on a random day at a plausible shopping hour."""
        span = max(0.0, (high - low).total_seconds())
        day = low + timedelta(seconds=self.rng.random() * span)
        hour = self.rng.choices(HOURS, HOUR_WEIGHTS)[0]
        moment = day.replace(hour=hour, minute=self.rng.randrange(60), second=self.rng.randrange(60), microsecond=0)
        if moment < low:
            moment += timedelta(days=1)
        if moment >= high:
            moment = max(low, high - timedelta(hours=1 + self.rng.random() * 5))
        return moment

    def _event(self, at: datetime, customer: int, type_: str, **fields: Any) -> PlannedEvent:
        event = PlannedEvent(at, next(self._seq), customer, type_, **fields)
        self.events.append(event)
        return event

    # -- products --

    def plan_products(self) -> None:
        categories = catalog_data.CATEGORIES
        counts = _apportion(self.options.products, [c.weight for c in categories], minimum=1)
        phones: list[str] = []
        titles: set[str] = set()
        for ci, (category, count) in enumerate(zip(categories, counts, strict=True)):
            type_counts = _apportion(count, [t.weight for t in category.types], minimum=1)
            for ptype, n in zip(category.types, type_counts, strict=True):
                for _ in range(n):
                    product = self._product(ci, category, ptype, phones, titles)
                    self.products.append(product)
                    self.by_category.setdefault(ci, []).append(product.index)
                    self.by_type.setdefault(ptype.key, []).append(product.index)
                    if ptype.key == "smartphone":
                        phones.append(f"{product.brand} {product.attributes['model']}")
        self._retire_some_products()

    def _product(
        self, ci: int, category: Category, ptype: ProductType, phones: list[str], titles: set[str]
    ) -> PlannedProduct:
        rng = self.rng
        index = len(self.products)
        brand = rng.choice(category.brands)
        specs = {key: rng.choice(values) for key, values in ptype.specs.items()}
        attrs = {key: rng.choice(values) for key, values in ptype.attributes.items()}
        fits = rng.choice(phones or list(catalog_data.FALLBACK_PHONES)) if "{phone}" in ptype.title else None
        model = rng.choice(ptype.models)
        context: dict[str, Any] = {**specs, **attrs, "brand": brand.name, "model": model, "phone": fits or ""}
        title = ptype.title.format_map(context)
        for attempt in range(40):  # a different model name until the title is new
            if title not in titles:
                break
            model = rng.choice(ptype.models)
            if attempt >= 20:
                model = f"{model} {('II', 'III', 'SE', 'Plus', 'Edition 2', 'Edition 3')[attempt % 6]}"
            context["model"] = model
            title = ptype.title.format_map(context)
        if title in titles:
            title = f"{title} ({index + 1})"
        titles.add(title)

        intro = rng.choice(ptype.intros)
        k = min(len(ptype.features), rng.choice((1, 2, 2, 3)))
        picked = sorted(rng.sample(range(len(ptype.features)), k))
        description = " ".join([intro] + [ptype.features[i] for i in picked]).format_map(context)

        low, high = ptype.price
        base = low + (high - low) * rng.random() ** 1.4
        raw = _clip(base * brand.tier, low * 0.85, high * 1.15)
        cents = rng.choice((".99", ".99", ".99", ".95", ".00", ".49"))
        price = Decimal(f"{max(1, int(raw))}{cents}")

        quality = _clip(rng.gauss(0.64 + (brand.tier - 1) * 0.25, 0.15), 0.2, 0.95)
        strengths = self._strengths(ptype, quality, brand.tier)
        popularity = math.exp(rng.gauss(0, 0.9)) * (0.6 + quality * 0.6)
        if rng.random() < 0.82:
            created = self.start - self._days(rng.uniform(20, 700))
        else:  # a new arrival during the history window
            created = self.start + self._days(rng.uniform(0, HISTORY_DAYS - 30))
        created = created.replace(microsecond=0)

        attributes: dict[str, Any] = {**attrs, **specs, **ptype.fixed_attributes, "model": model}
        if fits:
            attributes["compatible_with"] = fits
        return PlannedProduct(
            index=index,
            sku=f"{SKU_PREFIX}{index + 1:05d}",
            category=category,
            category_index=ci,
            ptype=ptype,
            brand=brand.name,
            title=title,
            description=description,
            price=price,
            attributes=attributes,
            created_at=created,
            quality=quality,
            strengths=strengths,
            popularity=popularity,
            fits=fits,
        )

    def _strengths(self, ptype: ProductType, quality: float, tier: float) -> dict[str, float]:
        """Per-aspect strength in -1..1: one or two clear weaknesses (the product's pain points), one or
        two clear strengths, and the rest spread around the product's overall quality."""
        rng = self.rng
        centre = (quality - 0.6) * 1.6
        strengths = {name: _clip(rng.gauss(centre, 0.3), -0.6, 0.6) for name in ptype.aspects}
        names = list(ptype.aspects)
        n_weak = 2 if quality < 0.5 else 1
        weak = rng.sample(names, min(n_weak, len(names) - 1))
        rest = [name for name in names if name not in weak]
        strong = rng.sample(rest, min(2 if quality > 0.7 else 1, len(rest)))
        for name in weak:
            strengths[name] = rng.uniform(-1.0, -0.7)
        for name in strong:
            strengths[name] = rng.uniform(0.7, 1.0)
        strengths["delivery"] = _clip(rng.gauss(0.35, 0.35), -1, 1)
        strengths["packaging"] = _clip(rng.gauss(0.2, 0.35), -1, 1)
        strengths["value for money"] = _clip((quality - 0.6) * 2.2 - (tier - 1.0) * 0.8 + rng.gauss(0, 0.2), -1, 1)
        return strengths

    def _retire_some_products(self) -> None:
        """About 5% are discontinued (inactive) and 7% are out of stock: filters have something to do."""
        rng = self.rng
        for product in self.products:
            roll = rng.random()
            if roll < 0.05:
                since = self.anchor - self._days(rng.uniform(30, 150))
                if since > product.created_at + self._days(30):
                    product.inactive_since = since.replace(microsecond=0)
            elif roll < 0.12:
                product.out_of_stock_since = (self.anchor - self._days(rng.uniform(3, 30))).replace(microsecond=0)

    # -- customers --

    def plan_customers(self) -> None:
        rng = self.rng
        names = list(LIFECYCLES)
        shares = [LIFECYCLES[name].share for name in names]
        locales = people_data.LOCALES
        emails: dict[str, int] = {}
        categories = catalog_data.CATEGORIES
        stocked = sorted(self.by_category)
        for index in range(self.options.customers):
            lifecycle = rng.choices(names, shares)[0]
            locale, _, country, cities = rng.choices(locales, [loc[1] for loc in locales])[0]
            name, local_part = self._name(locale)
            email = self._email(local_part, emails)
            created, active_from, active_until = self._lifetime(lifecycle)
            n_categories = min(len(stocked), rng.choices((1, 2, 3), (0.3, 0.45, 0.25))[0])
            preferred = _weighted_sample(rng, stocked, [categories[ci].weight for ci in stocked], n_categories)
            weights = sorted((rng.uniform(0.2, 1.0) for _ in preferred), reverse=True)
            tier = rng.choice((0.8, 1.0, 1.3))
            brands: set[str] = set()
            for ci in preferred:
                choices = list(categories[ci].brands)
                affinity = [1.0 / (0.15 + abs(tier - b.tier)) for b in choices]
                for brand in _weighted_sample(rng, choices, affinity, rng.choice((1, 1, 2))):
                    brands.add(brand.name)
            sources = people_data.SIGNUP_SOURCES
            attributes = {
                "country": country,
                "city": rng.choice(cities),
                "signup_source": rng.choices([s[0] for s in sources], [s[1] for s in sources])[0],
            }
            self.customers.append(
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

    def _name(self, locale: str) -> tuple[str, str]:
        rng = self.rng
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

    def _email(self, local: str, taken: dict[str, int]) -> str:
        domain = self.rng.choice(people_data.EMAIL_DOMAINS)
        address = f"{local}@{domain}"
        if address in taken:
            taken[address] += 1
            address = f"{local}{taken[address]}@{domain}"
        taken.setdefault(address, 1)
        return address

    def _lifetime(self, lifecycle: str) -> tuple[datetime, datetime, datetime]:
        """(signed up, first active, last active) for a lifecycle."""
        rng, start, anchor = self.rng, self.start, self.anchor
        if lifecycle == "new":
            created = anchor - self._days(rng.uniform(2, 45))
            until = anchor
        elif lifecycle == "loyal":
            created = start - self._days(rng.uniform(30, 700))
            until = anchor
        elif lifecycle == "lapsed":
            early = rng.random() < 0.7
            created = start - self._days(rng.uniform(0, 400)) if early else start + self._days(rng.uniform(0, 60))
            until = anchor - self._days(rng.uniform(95, 200))
        elif lifecycle == "regular":
            early = rng.random() < 0.6
            created = start - self._days(rng.uniform(0, 500)) if early else start + self._days(rng.uniform(0, 150))
            until = anchor
        else:  # browser, dormant
            created = start + self._days(rng.uniform(-300, HISTORY_DAYS - 10))
            until = anchor
        created = created.replace(microsecond=0)
        active_from = max(created, start)
        return created, active_from, max(until, active_from + self._days(14))

    # -- behaviour --

    def plan_events(self) -> None:
        """Newsletters first (they are scheduled by the shop), then browsing sessions that use the rest
        of the event budget. Sessions per customer follow lifecycle and a long-tailed activity level;
        the running events-per-session average steers the total close to the target."""
        customers = self.customers
        self._plan_newsletters()
        budget = max(0, self.options.events - len(self.events))
        rng = self.rng
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
            before = len(self.events)
            self._customer_sessions(customers[ci], n)
            produced += len(self.events) - before
            sessions += n

    def _customer_sessions(self, c: PlannedCustomer, n: int) -> None:
        times = sorted(self._time_on(c.active_from, c.active_until) for _ in range(n))
        for at in times:
            self._session(c, at)

    def _pick_category(self, c: PlannedCustomer) -> int:
        if c.categories and self.rng.random() < 0.85:
            return self.rng.choices(c.categories, c.category_weights)[0]
        stocked = sorted(self.by_category)
        return self.rng.choices(stocked, [catalog_data.CATEGORIES[i].weight for i in stocked])[0]

    def _candidates(self, pool: Iterable[int], c: PlannedCustomer, at: datetime) -> tuple[list[int], list[float]]:
        chosen, weights = [], []
        for pi in pool:
            product = self.products[pi]
            if product.available(at):
                chosen.append(pi)
                weights.append(product.popularity * (2.5 if product.brand in c.brands else 1.0))
        return chosen, weights

    def _session(self, c: PlannedCustomer, at: datetime, first: int | None = None, source: str = "browse") -> None:
        rng = self.rng
        session = f"{SESSION_PREFIX}{next(self._sessions):06d}"
        clock = at
        viewed: list[int] = []

        if first is not None:
            viewed.append(first)
        elif c.bought_consumables and rng.random() < (0.35 if c.lifecycle == "loyal" else 0.12):
            viewed.append(rng.choice(c.bought_consumables))  # "buy it again"
            source = "reorder"
        else:
            ci = self._pick_category(c)
            category = catalog_data.CATEGORIES[ci]
            pool = self.by_category[ci]
            if rng.random() < 0.7:  # most sessions stay within one kind of product
                types = [t for t in category.types if t.key in self.by_type]
                ptype = rng.choices(types, [t.weight for t in types])[0]
                pool = self.by_type[ptype.key]
            else:
                ptype = self.products[rng.choice(pool)].ptype
            candidates, weights = self._candidates(pool, c, clock)
            if not candidates:
                return
            if rng.random() < 0.35:
                self._event(clock, c.index, EventType.SEARCH, query=self._query(c, category, ptype),
                            attributes={"session": session, "results": len(candidates)})
                source = "search"
                clock += timedelta(seconds=rng.randint(3, 40))
            n_views = min(len(candidates), 1 + min(6, int(rng.expovariate(0.55))))
            viewed = _weighted_sample(rng, candidates, weights, n_views)

        cart: list[int] = []
        for pi in viewed:
            self._event(clock, c.index, EventType.VIEW, product=pi, attributes={"session": session, "source": source})
            clock += timedelta(seconds=rng.randint(20, 240))
            product = self.products[pi]
            p_cart = c.life.p_cart * (2.5 if source in ("reorder", "email") else 1.0)
            p_cart *= 1.3 if product.brand in c.brands else 1.0
            if product.purchasable(clock) and rng.random() < min(0.9, p_cart):
                self._event(clock, c.index, EventType.ADD_TO_CART, product=pi, attributes={"session": session})
                cart.append(pi)
                clock += timedelta(seconds=rng.randint(10, 120))
            source = "browse" if source == "search" else source
        if not cart or rng.random() >= c.life.p_buy * (1.2 if source == "reorder" else 1.0):
            return  # browsing only, or an abandoned cart

        for pi in list(cart):  # co-purchases: a case with the phone, beans with the machine
            for key, probability in self.products[pi].ptype.complements:
                if key in self.by_type and rng.random() < probability:
                    extra = self._complement(c, pi, key, clock)
                    if extra is not None and extra not in cart:
                        self._event(clock, c.index, EventType.VIEW, product=extra,
                                    attributes={"session": session, "source": "recommendation"})
                        clock += timedelta(seconds=rng.randint(15, 90))
                        self._event(clock, c.index, EventType.ADD_TO_CART, product=extra,
                                    attributes={"session": session})
                        clock += timedelta(seconds=rng.randint(5, 60))
                        cart.append(extra)
        clock += timedelta(seconds=rng.randint(60, 600))
        if clock >= self.anchor:
            return
        order = next(self._orders)
        for pi in cart:
            product = self.products[pi]
            most = product.ptype.max_quantity
            quantity = 1 if most == 1 or rng.random() < 0.7 else rng.randint(2, most)
            self._event(
                clock, c.index, EventType.PURCHASE, product=pi, order=order, quantity=quantity,
                value=product.price * quantity,
                attributes={"session": session, "currency": CURRENCY, "unit_price": str(product.price)},
            )
            self.purchases.append((c.index, pi, clock))
            if product.ptype.consumable and pi not in c.bought_consumables:
                c.bought_consumables.append(pi)

    def _complement(self, c: PlannedCustomer, pi: int, key: str, at: datetime) -> int | None:
        product = self.products[pi]
        pool = [i for i in self.by_type[key] if self.products[i].purchasable(at)]
        if product.ptype.key == "smartphone":
            phone = f"{product.brand} {product.attributes['model']}"
            matching = [i for i in pool if self.products[i].fits == phone]
            pool = matching or pool
        if not pool:
            return None
        candidates, weights = self._candidates(pool, c, at)
        return self.rng.choices(candidates, weights)[0] if candidates else None

    def _query(self, c: PlannedCustomer, category: Category, ptype: ProductType) -> str:
        rng = self.rng
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
            phones = [self.products[i].fits or "" for i in self.by_type.get(ptype.key, [])]
            query = query.replace("{phone}", rng.choice([p for p in phones if p] or list(catalog_data.FALLBACK_PHONES)))
        return query.lower()

    def _plan_newsletters(self) -> None:
        """Monthly-ish newsletters to consenting customers: opens, clicks that lead to a product, a few
        unsubscribes. Clicks by active customers sometimes turn into a visit that ends in an order."""
        rng = self.rng
        per_customer = self.options.events / max(1, self.options.customers)
        n_sends = max(2, min(9, round(per_customer * 0.45)))
        if self.options.events == 0:
            return
        stocked = sorted(self.by_category)
        sends = []
        for i in range(n_sends):
            when = self.start + self._days(12 + i * (HISTORY_DAYS - 20) / n_sends)
            when = when.replace(hour=9, minute=30, second=0, microsecond=0)
            ci = stocked[i % len(stocked)] if i % 3 else rng.choice(stocked)
            category = catalog_data.CATEGORIES[ci]
            subject = rng.choice(category.newsletter_subjects)
            sends.append((f"demo-newsletter-{when:%Y-%m-%d}", when, ci, subject))
        for c in self.customers:
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
                    self._event(at, c.index, EventType.UNSUBSCRIBE, attributes=info)
                    c.consent = False
                    break
                if rng.random() >= p_open:
                    continue
                opened = when + timedelta(hours=min(72.0, rng.expovariate(1 / 6)))
                self._event(opened, c.index, EventType.OPEN, attributes=info)
                p_click = 0.35 if ci in c.categories else 0.12
                if rng.random() >= p_click:
                    continue
                clicked = opened + timedelta(seconds=rng.randint(5, 180))
                candidates, weights = self._candidates(self.by_category[ci], c, clicked)
                if not candidates:
                    continue
                pi = rng.choices(candidates, weights)[0]
                self._event(clicked, c.index, EventType.CLICK, product=pi, attributes=info)
                visit = clicked + timedelta(seconds=rng.randint(2, 15))
                if c.active_from <= visit < c.active_until and rng.random() < 0.5:
                    self._session(c, visit, first=pi, source="email")
                else:
                    session = f"{SESSION_PREFIX}{next(self._sessions):06d}"
                    self._event(visit, c.index, EventType.VIEW, product=pi,
                                attributes={"session": session, "source": "email"})

    # -- reviews --

    def plan_reviews(self) -> None:
        """Most reviews come from buyers some days after the purchase; the rest from customers who
        bought elsewhere. Chinese-speaking customers write in Chinese (about 5% of reviews)."""
        rng = self.rng
        target = self.options.reviews
        if target == 0:
            return
        seen: set[tuple[int, int]] = set()
        lines = []
        for ci, pi, when in sorted(self.purchases, key=lambda line: (line[2], line[0], line[1])):
            if (ci, pi) not in seen:  # the first purchase of a product is what a review follows
                seen.add((ci, pi))
                lines.append((ci, pi, when))
        rng.shuffle(lines)
        reviewed: set[tuple[int, int]] = set()
        verified_target = round(target * 0.88)
        for ci, pi, when in lines:
            if len(self.reviews) >= verified_target:
                break
            written = when + timedelta(days=rng.uniform(2, 40), hours=rng.uniform(0, 12))
            if written >= self.anchor:
                continue
            reviewed.add((ci, pi))
            self._review(ci, pi, written.replace(microsecond=0))

        # The rest, from customers without a recorded purchase; they also top up the Chinese share.
        zh_customers = [c.index for c in self.customers if c.locale == "zh-CN"]
        zh_quota = max(1 if target >= 10 and zh_customers else 0, round(target * 0.05))
        zh_count = sum(1 for r in self.reviews if r.language == "zh")
        indexes = [p.index for p in self.products]
        weights = [p.popularity for p in self.products]
        attempts = 0
        while len(self.reviews) < target and attempts < target * 20:
            attempts += 1
            if zh_count < zh_quota and zh_customers:
                ci = rng.choice(zh_customers)
            else:
                ci = rng.randrange(len(self.customers))
            pi = rng.choices(indexes, weights)[0]
            if (ci, pi) in reviewed or (ci, pi) in seen:  # a buyer reviews after buying, not before
                continue
            customer, product = self.customers[ci], self.products[pi]
            low = max(customer.created_at, product.created_at, self.start)
            high = min(self.anchor, product.inactive_since or self.anchor)
            if high - low < timedelta(days=1):
                continue
            reviewed.add((ci, pi))
            review = self._review(ci, pi, self._time_on(low, high))
            if review.language == "zh":
                zh_count += 1

    def _review(self, ci: int, pi: int, written: datetime) -> PlannedReview:
        rng = self.rng
        customer, product = self.customers[ci], self.products[pi]
        score = product.quality + rng.gauss(0, 0.2) + customer.bias
        rating = 5 if score > 0.7 else 4 if score > 0.55 else 3 if score > 0.44 else 2 if score > 0.33 else 1
        language = "zh" if customer.locale == "zh-CN" else "en"
        subject = ReviewSubject(product.category, product.ptype, product.strengths)
        title, text = write_review(rng, subject, rating, language)
        review = PlannedReview(ci, pi, written, rating, language, title, text)
        self.reviews.append(review)
        return review

    def plan(self) -> ShopPlan:
        self.plan_products()
        self.plan_customers()
        self.plan_events()
        self.plan_reviews()
        # a session that starts just before midnight may run past the anchor: the shop has not seen it yet
        self.events = [e for e in self.events if e.occurred_at < self.anchor]
        self.events.sort(key=lambda e: (e.occurred_at, e.seq))
        return ShopPlan(self.products, self.customers, self.events, self.reviews)


def _apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split `total` by `weights` (largest remainder), giving each share `minimum` first when possible."""
    n = len(weights)
    base = [minimum] * n if total >= minimum * n else [0] * n
    rest = total - sum(base)
    scale = sum(weights)
    exact = [rest * w / scale for w in weights]
    counts = [b + int(x) for b, x in zip(base, exact, strict=True)]
    order = sorted(range(n), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _weighted_sample(rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int) -> list[T]:
    """k distinct items, each draw proportional to weight (Efraimidis-Spirakis keys)."""
    if k <= 0 or not items:
        return []
    keyed = [(rng.random() ** (1.0 / max(w, 1e-9)), i) for i, w in enumerate(weights)]
    best = sorted(keyed, reverse=True)[:k]
    return [items[i] for _, i in best]


def plan_shop(options: SeedOptions) -> ShopPlan:
    """The whole demo shop, in memory and without touching the database."""
    return Planner(options).plan()


# --- writing ------------------------------------------------------------------------------------------


def demo_data_exists() -> bool:
    return (
        Product.objects.filter(sku__startswith=SKU_PREFIX).exists()
        or Customer.objects.filter(external_id__startswith=CUSTOMER_PREFIX).exists()
    )


def seed_shop(options: SeedOptions, progress: ProgressCallback | None = None) -> SeedReport:
    """Create (or with `force`, replace) the demo shop. Returns counts of written rows."""
    started = time.monotonic()
    anchor = options.anchor_date
    seed, anchor_text = options.seed, anchor.isoformat()
    if not options.force and demo_data_exists():
        return SeedReport(True, {}, time.monotonic() - started, seed, anchor_text, _exists_message())

    plan = plan_shop(options)  # outside the transaction: no locks held while we compute
    rows = (plan.products, plan.customers, plan.events, plan.reviews, catalog_data.DEMO_CAMPAIGNS)
    total = sum(len(kind) for kind in rows)
    report = progress or (lambda stage, done, total: None)
    report("planned", 0, total)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        if not options.force and demo_data_exists():  # another seed finished while we were planning
            return SeedReport(True, {}, time.monotonic() - started, seed, anchor_text, _exists_message())
        counts = _write(plan, total, report)
    return SeedReport(False, counts, time.monotonic() - started, seed, anchor_text)


def _exists_message() -> str:
    n = Product.objects.filter(sku__startswith=SKU_PREFIX).count()
    return f"Demo data already exists ({n} demo products); nothing written. Use --force to replace it."


def _write(plan: ShopPlan, total: int, report: ProgressCallback) -> dict[str, int]:
    products = [
        Product(
            sku=p.sku, title=p.title, description=p.description, category=p.category.path, brand=p.brand,
            price=p.price, currency=CURRENCY, is_active=p.inactive_since is None,
            in_stock=p.out_of_stock_since is None, attributes=p.attributes, created_at=p.created_at,
        )
        for p in plan.products
    ]
    _upsert(Product, products, "sku", "products", total, report)
    customers = [
        Customer(
            external_id=c.external_id, email=c.email, name=c.name, locale=c.locale,
            marketing_consent=c.consent, attributes=c.attributes, created_at=c.created_at,
        )
        for c in plan.customers
    ]
    _upsert(Customer, customers, "external_id", "customers", total, report)

    width = max(6, len(str(len(plan.events))))
    orders: dict[int, str] = {}
    events = []
    for n, e in enumerate(plan.events, start=1):
        order_id = ""
        if e.order is not None:
            order_id = orders.setdefault(e.order, f"{ORDER_PREFIX}{len(orders) + 1:0{width}d}")
        events.append(
            Event(
                external_id=f"{EVENT_PREFIX}{n:07d}", customer=customers[e.customer],
                product=products[e.product] if e.product is not None else None, type=e.type, query=e.query,
                order_id=order_id, quantity=e.quantity, value=e.value, attributes=e.attributes,
                occurred_at=e.occurred_at,
            )
        )
    _upsert(Event, events, "external_id", "events", total, report)

    reviews = [
        Review(
            external_id=f"{REVIEW_PREFIX}{n:06d}", product=products[r.product], customer=customers[r.customer],
            rating=r.rating, title=r.title, text=r.text, language=r.language, source=REVIEW_SOURCE,
            created_at=r.created_at,
        )
        for n, r in enumerate(sorted(plan.reviews, key=lambda r: (r.created_at, r.customer, r.product)), start=1)
    ]
    _upsert(Review, reviews, "external_id", "reviews", total, report)

    campaigns = _write_campaigns()
    report("campaigns", campaigns, total)

    # With force, demo rows the new plan does not have (a smaller or different shop) go away.
    deleted = 0
    deleted += _delete_stale(Event, "external_id", EVENT_PREFIX, {e.external_id for e in events})
    deleted += _delete_stale(Review, "external_id", REVIEW_PREFIX, {r.external_id for r in reviews})
    deleted += _delete_stale(Product, "sku", SKU_PREFIX, {p.sku for p in products})
    deleted += _delete_stale(Customer, "external_id", CUSTOMER_PREFIX, {c.external_id for c in customers})
    counts = {
        "products": len(products),
        "customers": len(customers),
        "events": len(events),
        "reviews": len(reviews),
        "campaigns": campaigns,
        "orders": len(orders),
        "stale_deleted": deleted,
    }
    for type_ in EventType:
        counts[f"events_{type_.value}"] = sum(1 for e in events if e.type == type_)
    counts["reviews_zh"] = sum(1 for r in reviews if r.language == "zh")
    return counts


M = TypeVar("M", bound=models.Model)


def _upsert(model: type[M], objs: list[M], key: str, stage: str, total: int, report: ProgressCallback) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE in batches; PostgreSQL returns the primary keys, which the
    rows written next (events, reviews) need for their foreign keys."""
    fields = [
        f.name for f in model._meta.concrete_fields
        if not f.primary_key and f.name != key and not getattr(f, "auto_now_add", False)
    ]
    for start in range(0, len(objs), BATCH_SIZE):
        batch = objs[start : start + BATCH_SIZE]
        model._default_manager.bulk_create(batch, update_conflicts=True, unique_fields=[key], update_fields=fields)
        report(stage, len(batch), total)


def _delete_stale(model: type[models.Model], key: str, prefix: str, keep: set[str]) -> int:
    existing = model._default_manager.filter(**{f"{key}__startswith": prefix}).values_list("pk", key)
    stale = [pk for pk, value in existing if value not in keep]
    deleted = 0
    for start in range(0, len(stale), 5000):
        deleted += model._default_manager.filter(pk__in=stale[start : start + 5000]).delete()[1].get(
            model._meta.label, 0
        )
    return deleted


def _write_campaigns() -> int:
    """The sample draft campaigns, matched by name; an existing one keeps its status and history."""
    written = 0
    for spec in catalog_data.DEMO_CAMPAIGNS:
        fields = {k: v for k, v in spec.items() if k != "name"}
        campaign = Campaign.objects.filter(name=str(spec["name"])).order_by("pk").first()
        if campaign is None:
            Campaign.objects.create(name=str(spec["name"]), status=Campaign.Status.DRAFT, **fields)
        else:
            for attr, value in fields.items():
                setattr(campaign, attr, value)
            campaign.save(update_fields=[*fields, "updated_at"])
        written += 1
    return written
