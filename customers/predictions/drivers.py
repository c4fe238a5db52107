"""Why a customer's prediction is what it is: the few features that moved it most, and in which direction.

Occlusion, computed in bulk when customers are scored: replace the customer's values of a group of related
features by the shop's reference (the median over the customers scored at the same `now`) and measure how far
the prediction moves. `effect = prediction - prediction with that group at the median`: positive means the
customer's values raise the prediction. Groups, not single features, because the features overlap: with
orders in 30 and 90 days and revenue in 90 days all in the model, setting any one of them to the median
leaves the others telling the same story, and a weekly buyer's "13 orders in 90 days" got an effect of 0
(measured on the test shop). It works with any model (the served models are calibrated gradient-boosting
ensembles, where exact Shapley values would need the uncalibrated trees) and costs one prediction per group
for the customers whose values differ from the median.

Stored with the prediction (`CustomerPrediction.drivers`) so the customer page reads one row per target:
rebuilding one customer's features on a page view would need the reference medians of the whole scored
population anyway, and the stored drivers always match the stored prediction (same features, same model).

The words a manager reads are here too: `FEATURE_TEXT` names every feature once, `describe()` turns a stored
driver into "ordered 4 times in the last 90 days (shop median 1) → raises purchase probability by 12 points".
`GROUPS` says which features move together and which of them the text shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .estimators import ServedModel

TOP = 5  # drivers kept per customer and target
AT_LEAST = 3  # ... of which this many are kept unless negligible (below `NEGLIGIBLE` of the largest effect)
NEGLIGIBLE = 0.01
MINOR = 0.1  # a 4th or 5th driver is dropped below this share of the largest effect


@dataclass(frozen=True)
class FeatureText:
    """How a feature reads: `phrase` with `{v}` for the customer's value in `unit`; `missing` when it is NaN."""

    phrase: str
    unit: str  # "count", "times", "days", "money", "ratio", "share"
    missing: str = "none"


FEATURE_TEXT: dict[str, FeatureText] = {
    "recency_days": FeatureText("last order {v} ago", "days", "no order yet"),
    "orders": FeatureText("ordered {v} in all", "times"),
    "revenue": FeatureText("spent {v} in all", "money"),
    "avg_order_value": FeatureText("average order of {v}", "money", "no order yet"),
    "first_order_age_days": FeatureText("first order {v} ago", "days", "no order yet"),
    "orders_30d": FeatureText("ordered {v} in the last 30 days", "times"),
    "orders_90d": FeatureText("ordered {v} in the last 90 days", "times"),
    "revenue_90d": FeatureText("spent {v} in the last 90 days", "money"),
    "gap_mean": FeatureText("{v} between orders on average", "days", "no repeat order yet"),
    "gap_median": FeatureText("typically {v} between orders", "days", "no repeat order yet"),
    "gap_std": FeatureText("gaps between orders vary by {v}", "days", "fewer than three orders"),
    "gap_last": FeatureText("{v} between the last two orders", "days", "no repeat order yet"),
    "overdue_ratio": FeatureText("{v} their usual gap between orders", "ratio", "no usual gap yet"),
    "tenure_days": FeatureText("first seen {v} ago", "days", "never seen"),
    "days_since_last_event": FeatureText("last active {v} ago", "days", "never active"),
    "days_since_last_view": FeatureText("last viewed a product {v} ago", "days", "never viewed a product"),
    "active_days_30d": FeatureText("active on {v} of the last 30 days", "count"),
    "active_days_90d": FeatureText("active on {v} of the last 90 days", "count"),
    "views_7d": FeatureText("{v} product views in the last 7 days", "count"),
    "views_30d": FeatureText("{v} product views in the last 30 days", "count"),
    "views_90d": FeatureText("{v} product views in the last 90 days", "count"),
    "carts_7d": FeatureText("{v} add-to-carts in the last 7 days", "count"),
    "carts_30d": FeatureText("{v} add-to-carts in the last 30 days", "count"),
    "carts_90d": FeatureText("{v} add-to-carts in the last 90 days", "count"),
    "searches_30d": FeatureText("{v} searches in the last 30 days", "count"),
    "opens_30d": FeatureText("opened {v} emails in the last 30 days", "count"),
    "clicks_30d": FeatureText("clicked {v} emails in the last 30 days", "count"),
    "distinct_products": FeatureText("{v} different products seen or bought", "count"),
    "distinct_categories": FeatureText("{v} different categories seen or bought", "count"),
    "bgnbd_purchases_30d": FeatureText("BG/NBD expects {v} orders in the next 30 days", "count", "no order yet"),
    "bgnbd_purchases_90d": FeatureText("BG/NBD expects {v} orders in the next 90 days", "count", "no order yet"),
    "bgnbd_p_alive": FeatureText("BG/NBD: {v} likely still a customer", "share", "no order yet"),
    "bgnbd_value_90d": FeatureText("BG/NBD x Gamma-Gamma expects {v} in the next 90 days", "money", "no order yet"),
}

# What a positive and a negative effect does to each target, and the effect's unit.
EFFECT_TEXT: dict[str, tuple[str, str, str]] = {
    "purchase_30d": ("raises purchase probability", "lowers purchase probability", "points"),
    "churn": ("raises churn risk", "lowers churn risk", "points"),
    "value_90d": ("raises expected 90-day value", "lowers expected 90-day value", "money"),
    "next_order": ("pushes the next order later", "brings the next order sooner", "days"),
}


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:,.1f}"


def format_value(x: float | None, unit: str, currency: str) -> str:
    """A feature value in its unit ("3 days", "4 times", "120.50 EUR", "1.5x"); None is NaN."""
    if x is None or not math.isfinite(x):
        return "none"
    if unit == "money":
        return f"{x:,.2f} {currency}"
    if unit == "ratio":
        return f"{x:.1f}x"
    if unit == "share":
        return f"{x:.0%}"
    if unit == "days":
        if x < 1:
            return "less than a day"
        days = round(x)
        return "1 day" if days == 1 else f"{days:,} days"
    if unit == "times":
        n = round(x)
        return "once" if n == 1 else "twice" if n == 2 else f"{n:,} times"
    return _number(x)


def format_effect(effect: float, unit: str, currency: str) -> str:
    size = abs(effect)
    if unit == "points":
        return f"{size * 100:.1f} points" if size < 0.1 else f"{size * 100:.0f} points"
    if unit == "money":
        return f"{size:,.2f} {currency}"
    return "1 day" if round(size) == 1 else f"{size:,.0f} days" if size >= 1 else "less than a day"


# Features that carry the same information are occluded together; the second list is what the text shows
# (those that differ from the median, at most two). A feature in no group is a group of its own.
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "recent_orders": (("orders_30d", "orders_90d", "revenue_90d"), ("orders_90d", "revenue_90d")),
    "recency": (("recency_days", "overdue_ratio"), ("recency_days", "overdue_ratio")),
    "rhythm": (("gap_mean", "gap_median", "gap_std", "gap_last"), ("gap_median", "gap_last")),
    "lifetime": (("orders", "revenue", "avg_order_value", "first_order_age_days"), ("orders", "avg_order_value")),
    "browsing": (("days_since_last_view", "views_7d", "views_30d", "views_90d", "distinct_products",
                  "distinct_categories"), ("views_30d", "days_since_last_view")),
    "carts": (("carts_7d", "carts_30d", "carts_90d"), ("carts_30d", "carts_90d")),
    "searches": (("searches_30d",), ("searches_30d",)),
    "email": (("opens_30d", "clicks_30d"), ("opens_30d", "clicks_30d")),
    "activity": (("tenure_days", "days_since_last_event", "active_days_30d", "active_days_90d"),
                 ("active_days_90d", "days_since_last_event")),
    "buy_till_you_die": (("bgnbd_purchases_30d", "bgnbd_purchases_90d", "bgnbd_p_alive", "bgnbd_value_90d"),
                         ("bgnbd_purchases_90d", "bgnbd_p_alive")),
}
SHOWN_PER_DRIVER = 2


@dataclass(frozen=True)
class Group:
    name: str
    columns: list[int]  # of the model's features
    shown: list[int]


def groups_for(features: Sequence[str]) -> list[Group]:
    """`GROUPS` over a model's features (in its column order); features in no group stand alone."""
    index = {name: j for j, name in enumerate(features)}
    out, grouped = [], set()
    for name, (members, shown) in GROUPS.items():
        columns = [index[m] for m in members if m in index]
        if columns:
            out.append(Group(name, columns, [index[m] for m in shown if m in index]))
            grouped.update(columns)
    out.extend(Group(name, [j], [j]) for j, name in enumerate(features) if j not in grouped)
    return out


def _phrase(feature: str, value: float | None, reference: float | None,
            currency: str) -> tuple[str, str | None, str]:
    """(what the customer did, the shop median or None when the median customer has none, the words for none)."""
    text = FEATURE_TEXT.get(feature) or FeatureText(f"{feature} {{v}}", "number")  # a feature added later
    said = text.missing if value is None else text.phrase.format(v=format_value(value, text.unit, currency))
    if reference is None:
        return said, None, text.missing
    median = _number(round(reference)) if text.unit == "times" else format_value(reference, text.unit, currency)
    return said, median, text.missing


def describe(target: str, driver: dict[str, Any], currency: str) -> str:
    """One stored driver in words: "<the customer's values> (shop median <m>) → <direction> by <size>"."""
    up, down, effect_unit = EFFECT_TEXT[target]
    effect = float(driver["effect"])
    phrases: dict[str, str] = {}
    for feature, value, reference in driver["shown"]:
        said, median, missing = _phrase(feature, value, reference, currency)
        # "no repeat order yet" once, not once per gap feature
        phrases.setdefault(said, f"shop median {median}" if median is not None else f"most customers: {missing}")
    customer = ", ".join(f"{said} ({median})" for said, median in phrases.items())
    return f"{customer} → {up if effect > 0 else down} by {format_effect(effect, effect_unit, currency)}"


def reference_values(columns: Sequence[np.ndarray]) -> np.ndarray:
    """The median customer's value of each feature over the scored customers. A missing value (no order, no
    gap yet) is a value of its own: when most customers have none, the median customer has none (NaN), so a
    one-off buyer is compared with what most customers are, not with a repeat buyer."""
    out = np.full(len(columns), np.nan)
    for j, col in enumerate(columns):
        finite = col[~np.isnan(col)]
        if len(finite) and len(finite) * 2 >= len(col):
            out[j] = float(np.median(finite))
    return out


def _differs(col: np.ndarray, ref: float) -> np.ndarray:
    return ~np.isnan(col) if math.isnan(ref) else ~(col == ref)


def occlusion_effects(model: ServedModel, X: np.ndarray, recency: np.ndarray, reference: np.ndarray,
                      predicted: np.ndarray, groups: Sequence[Group]) -> np.ndarray:
    """effects[i, g] = predicted[i] - the prediction with group g of row i set to `reference`.

    Only rows with a value in the group that differs from the reference are predicted again (most counts
    are at their median of 0 for most customers), so the cost is one prediction per differing (customer,
    group) pair.
    """
    effects = np.zeros((len(X), len(groups)), dtype=np.float64)
    for g, group in enumerate(groups):
        differs = np.zeros(len(X), dtype=bool)
        for j in group.columns:
            differs |= _differs(X[:, j], reference[j])
        rows = np.flatnonzero(differs)
        if not len(rows):
            continue
        occluded = X[rows].copy()
        occluded[:, group.columns] = reference[group.columns]
        effects[rows, g] = predicted[rows] - model.predict(occluded, recency[rows])
    return effects


def _finite_or_none(x: float) -> float | None:
    return round(float(x), 4) if math.isfinite(x) else None


def top_drivers(effects: np.ndarray, values: np.ndarray, reference: np.ndarray, features: Sequence[str],
                groups: Sequence[Group]) -> list[dict[str, Any]]:
    """The stored drivers of one customer: up to `TOP` groups by absolute effect, largest first; after the
    first `AT_LEAST`, only those with at least `MINOR` of the largest effect; negligible ones never.
    Each shows the group's display features whose value differs from the median (or the first that does)."""
    order = np.argsort(-np.abs(effects), kind="stable")
    largest = abs(float(effects[order[0]])) if len(order) else 0.0
    out: list[dict[str, Any]] = []
    for g in order[:TOP]:
        size = abs(float(effects[g]))
        if size < max(1e-6, (NEGLIGIBLE if len(out) < AT_LEAST else MINOR) * largest):
            break
        group = groups[g]
        differ = [j for j in group.columns if _differs(values[j:j + 1], reference[j])[0]]
        shown = [j for j in group.shown if j in differ][:SHOWN_PER_DRIVER] or differ[:1] or group.shown[:1]
        out.append({"group": group.name, "effect": round(float(effects[g]), 6),
                    "shown": [[features[j], _finite_or_none(values[j]), _finite_or_none(reference[j])]
                              for j in shown]})
    return out
