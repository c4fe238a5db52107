"""What a customer's event means, defined once.

How much each kind of event says about interest in a product, how that fades with age, which kinds count
as engagement or purchase, which must name a product, and how far back live ranking reads history.
Profiles (`customers/profiles.py`), recommender training (`recommendations/interactions.py`, popularity in
`recommendations/training.py`) and live ranking (`recommendations/context.py`) all read it from here, so
changing a weight or the half-life changes every one of them together.

The decay is written twice, once for SQL (`decay_sql`, set-based profile sums) and once for Python
(`decay`, floats or numpy arrays), both from the same constants; `weight_sql` and `event_weight` likewise.
The functions read the constants when called, never at import.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from .models import EventType

EVENT_WEIGHTS: dict[str, float] = {
    EventType.PURCHASE: 3.0,
    EventType.ADD_TO_CART: 2.0,
    EventType.VIEW: 1.0,
    EventType.CLICK: 1.0,
}
"""How much one product event says about interest in the product: buying beats carting beats looking."""

ENGAGEMENT_EVENTS: frozenset[str] = frozenset(EVENT_WEIGHTS)
"""Events that engage with a product (weighted above): profile vectors, training data, ranking seeds."""

PURCHASE_EVENTS: frozenset[str] = frozenset({EventType.PURCHASE})
"""Events that are an order line: RFM (orders, revenue), the exclusion of recent purchases."""

PRODUCT_EVENTS: frozenset[str] = frozenset({EventType.VIEW, EventType.ADD_TO_CART, EventType.PURCHASE})
"""Events that must name a product to be accepted (a click may come from a message without one)."""

SEARCH_WEIGHT = 1.0  # a search says as much as a view, about the query's meaning
REVIEW_WEIGHT = 2.0  # writing a review says more about a customer than viewing the product

HALF_LIFE_DAYS = 30.0
"""Half-life of an event's weight: a view 30 days old counts half as much as one today."""

MAX_HALF_LIVES = 1000  # clamp of the exponent: 0.5**1000 is still a float8, so the clamp never changes a sum

HISTORY_DAYS = 365
"""How far back live ranking reads a customer's events (profiles and training read all of them)."""

_Age = TypeVar("_Age", float, np.ndarray)


def decay(age_days: _Age) -> _Age:
    """What is left of an event's weight after `age_days` (a float, or an array of ages)."""
    exponent = np.minimum(np.asarray(age_days, dtype=np.float64) / HALF_LIFE_DAYS, MAX_HALF_LIVES)
    left = np.power(0.5, exponent)
    return left if isinstance(age_days, np.ndarray) else float(left)


def event_weight(event_type: str) -> float:
    """The interest weight of one event of this type (0 for types that say nothing about a product)."""
    return EVENT_WEIGHTS.get(event_type, 0.0)


def decayed_weight(event_type: str, age_days: float) -> float:
    """One event's weight today: its type's weight, decayed by its age."""
    return event_weight(event_type) * decay(age_days)


def weight_sql(type_column: str) -> str:
    """SQL for `event_weight` of the row's type (a float8; 0 for other types)."""
    cases = " ".join(f"WHEN '{kind}' THEN {weight!r}::float8" for kind, weight in EVENT_WEIGHTS.items())
    return f"(CASE {type_column} {cases} ELSE 0::float8 END)"


def decay_sql(occurred_at: str, now: str) -> str:
    """SQL for `decay` of the row's age at `now` (a column and a placeholder, e.g. "%(now)s")."""
    half_lives = f"extract(epoch FROM ({now} - {occurred_at}))::float8 / {HALF_LIFE_DAYS * 86400!r}::float8"
    return f"power(0.5::float8, LEAST({half_lives}, {MAX_HALF_LIVES}::float8))"
