"""The demo shop in memory: what each planned row holds, and the state the per-entity planners share.

Planning never touches the database. Only `PlanState.rng` draws random numbers, and the planners draw
in a fixed order (products, customers, events, reviews), so the same seed and anchor give the same shop.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ..catalog_data import Category, ProductType
from .options import SESSION_PREFIX, SeedOptions

HISTORY_DAYS = 270  # events cover about nine months before the anchor

T = TypeVar("T")


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

# Shoppers browse at lunch and in the evening (hours on their own clock).
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5, 6.5, 7, 6.5, 4.5, 2.5)
HOURS = tuple(range(24))
# Each customer has an hour of their own (drawn from HOUR_WEIGHTS) and a habit: the share of their visits and
# opens that fall at that hour or next to it (HABIT_SPREAD); the rest follow the shop-wide curve. So a
# per-customer send-time estimate has something to find, and the shop curve still has its evening peak.
HABIT_RANGE = (0.3, 0.9)
HABIT_SPREAD = (-1, 0, 0, 0, 1)
KNOWN_ZONE_SHARE = 0.6  # the share of customers whose time zone the shop knows (stored on the customer)


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
    home_zone: str = "UTC"  # where they live: their hours are on this clock
    timezone: str = ""  # what the shop knows of it (home_zone for KNOWN_ZONE_SHARE of customers)
    own_hour: int = 20  # their preferred hour, local
    habit: float = 0.0  # share of their activity at (or next to) own_hour

    @property
    def life(self) -> Lifecycle:
        return LIFECYCLES[self.lifecycle]

    def hour_of_day(self, rng: random.Random) -> int:
        """A local hour for their next visit or open: their own hour by habit, else the shop-wide curve."""
        if rng.random() < self.habit:
            return (self.own_hour + rng.choice(HABIT_SPREAD)) % 24
        return rng.choices(HOURS, HOUR_WEIGHTS)[0]


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


@dataclass(frozen=True)
class PlannedQuestion:
    """A shopper's question about a product and the shop's answer (for the assistant)."""

    external_id: str
    sku: str
    question: str
    answer: str
    language: str
    created_at: datetime


@dataclass
class ShopPlan:
    products: list[PlannedProduct]
    customers: list[PlannedCustomer]
    events: list[PlannedEvent]
    reviews: list[PlannedReview]
    questions: list[PlannedQuestion] = field(default_factory=list)


class PlanState:
    """What the planners build and share: the calendar, the random generator, the rows so far and the
    indexes later planners look things up in."""

    def __init__(self, options: SeedOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        # the customers' hours and zones draw from their own generator, so adding them left every other draw
        # of the plan (products, baskets, reviews) as it was for the same seed
        self.hours_rng = random.Random(f"hours-{options.seed}")
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

    def time_on(self, low: datetime, high: datetime, customer: PlannedCustomer | None = None) -> datetime:
        """A moment between low and high, on a random day at a plausible shopping hour (the customer's own
        hour by their habit, on their clock, when one is given)."""
        span = max(0.0, (high - low).total_seconds())
        day = low + timedelta(seconds=self.rng.random() * span)
        hour = self.rng.choices(HOURS, HOUR_WEIGHTS)[0]
        minute, second = self.rng.randrange(60), self.rng.randrange(60)
        if customer is None:
            moment = day.replace(hour=hour, minute=minute, second=second, microsecond=0)
        else:
            zone = ZoneInfo(customer.home_zone)
            local = day.astimezone(zone)
            hour = customer.hour_of_day(self.hours_rng)
            moment = datetime(local.year, local.month, local.day, hour, minute, second, tzinfo=zone).astimezone(UTC)
        if moment < low:
            moment += timedelta(days=1)
        if moment >= high:
            moment = max(low, high - timedelta(hours=1 + self.rng.random() * 5))
        return moment

    def add_event(self, at: datetime, customer: int, type_: str, **fields: Any) -> PlannedEvent:
        event = PlannedEvent(at, next(self._seq), customer, type_, **fields)
        self.events.append(event)
        return event

    def new_session(self) -> str:
        """The key of the next browsing session (kept in the events' attributes)."""
        return f"{SESSION_PREFIX}{next(self._sessions):06d}"

    def new_order(self) -> int:
        return next(self._orders)


def clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
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


def weighted_sample(rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int) -> list[T]:
    """k distinct items, each draw proportional to weight (Efraimidis-Spirakis keys)."""
    if k <= 0 or not items:
        return []
    keyed = [(rng.random() ** (1.0 / max(w, 1e-9)), i) for i, w in enumerate(weights)]
    best = sorted(keyed, reverse=True)[:k]
    return [items[i] for _, i in best]

