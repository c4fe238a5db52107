"""How deep a discount to offer each segment, from an experiment whose arms offer different discounts.

Arms and depths: each message arm's `Arm.discount_percent` (0-90; blank arms are left out, with a note);
the holdout gets no message, so it offers 0. Arms at the same depth are pooled (two copies of the 10% offer
are one depth). The reference is the holdout when there is one (the question is then "what does sending
this offer add over sending nothing"), else the message arm(s) at 0%.

Per customer (intention to treat, attribution as `campaigns.outcomes`: any purchase within the campaign's
attribution window after assignment): converted, list revenue R (the sum of purchase values, which are
list prices before the arm's discount) and the cost of goods K (each purchase line's value x cost / price
when its product has a unit cost in `attributes["cost"]` and a price, else value x (1 - the shop's
`DEFAULT_GROSS_MARGIN_PERCENT`)). The margin a customer leaves at depth d is (1 - d) R - K, and the
expected incremental margin per customer of a depth is the mean of that margin minus the reference's.

Why (1 - d) R - K and not (1 - d) R x gross margin: the discount comes off the price, not off the cost of
goods. At a 40% gross margin a 30% discount leaves 0.10 of list revenue, not 0.7 x 0.4 = 0.28; the
proportional form would make deep discounts look three times as profitable as they are.

Intervals: a difference of two independent means with the normal (Welch, unpooled variance) interval,
the continuous counterpart of `experiment_stats`' normal approximations; conversion rates use its Wilson
interval. The level is the experiment's (1 - alpha, 95% by default).

Suggestion, per segment (the customers' lifecycle stage at their assignment, recomputed from their
purchases before it, so the offer cannot move a customer between segments; behavioural segments when
their membership predates the experiment; and "all customers"): the candidate (the reference or a depth)
with the highest expected incremental margin is suggested only when its interval against every other
candidate lies above zero (an intersection-union test: each comparison at the experiment's level).
Otherwise "not enough evidence", with the customers per arm needed to tell it from the candidates it is
not yet separated from: n = (z_{1-alpha/2} + z_power)^2 (s_a^2 + s_b^2) / delta^2, with the observed
per-customer variances and the observed difference delta (the experiment's alpha and power). Each
segment's suggestion is its own test: with many segments, some false suggestions are to be expected, so
the "all customers" row is the one to act on first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from scipy import stats

from audit.log import record
from audit.models import AuditAction
from catalog.models import Product
from core.actors import Actor
from customers.lifecycle import lifecycle_key, lifecycle_of
from customers.models import CarriedTotals, CustomerProfile, Event, EventType, Lifecycle, Segment

from . import experiment_stats as st
from .models import MAX_DISCOUNT_PERCENT, Arm, Assignment, Experiment
from .outcomes import json_number, window_params, window_sql  # the attribution window of the results page

NAN = float("nan")
ALL_KEY = "all"
MAX_SAMPLE_SAID = 10_000_000  # beyond this the difference is too small to be worth testing


class DiscountError(ValueError):
    """The experiment cannot answer the discount question; the message says why and what to change."""


# --- pure maths ----------------------------------------------------------------------------------------


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): normal interval with the sample variance; nan where fewer than two values."""
    n = len(values)
    if n == 0:
        return NAN, NAN, NAN
    mean = float(np.mean(values))
    if n < 2:
        return mean, NAN, NAN
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    half = z * math.sqrt(float(np.var(values, ddof=1)) / n)
    return mean, mean - half, mean + half


def difference_interval(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high): Welch's normal interval for independent samples; nan where either
    has fewer than two values."""
    if len(a) == 0 or len(b) == 0:
        return NAN, NAN, NAN
    diff = float(np.mean(a) - np.mean(b))
    if len(a) < 2 or len(b) < 2:
        return diff, NAN, NAN
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    se = math.sqrt(float(np.var(a, ddof=1)) / len(a) + float(np.var(b, ddof=1)) / len(b))
    return diff, diff - z * se, diff + z * se


def sample_size_for_difference(
    variance_a: float, variance_b: float, delta: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Customers per arm (equal arms) for a two-sided test at `alpha` to detect a difference of means
    `delta` with `power`: (z_{1-alpha/2} + z_power)^2 (var_a + var_b) / delta^2. nan when delta is 0 or
    undefined (no sample follows from no difference). Not rounded: callers ceil it."""
    for name, value in (("alpha", alpha), ("power", power)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    if not all(math.isfinite(v) for v in (variance_a, variance_b, delta)) or delta == 0:
        return NAN
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return z * z * (variance_a + variance_b) / (delta * delta)


# --- arms and depths -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Depth:
    """One candidate: the holdout, or the message arms that offer one discount."""

    label: str
    percent: float
    arm_ids: tuple[int, ...]
    arm_keys: tuple[str, ...]
    is_holdout: bool

    @property
    def fraction(self) -> float:
        return self.percent / 100


def _percent_label(percent: float) -> str:
    return f"{percent:g}%"


def depths_of(arms: list[Arm]) -> tuple[Depth, list[Depth], list[str]]:
    """(reference, the other depths by discount, notes). Raises DiscountError naming what is missing."""
    notes: list[str] = []
    if len(arms) < 2:
        keys = ", ".join(arm.key for arm in arms) or "none"
        raise DiscountError(
            f"the experiment has {len(arms)} arm(s) ({keys}): comparing discounts needs a holdout or a 0% arm "
            "and at least one arm offering a discount"
        )
    for arm in arms:
        if arm.is_holdout and arm.discount_percent not in (None, 0):
            raise DiscountError(
                f"arm {arm.key} is the holdout (it gets no message), so it cannot offer a discount "
                f"(discount_percent={arm.discount_percent}): clear its discount"
            )
    unset = [arm.key for arm in arms if not arm.is_holdout and arm.discount_percent is None]
    if unset:
        notes.append(f"left out, no discount set: {', '.join(unset)} (set discount_percent on the experiment page)")
    by_depth: dict[tuple[bool, float], list[Arm]] = defaultdict(list)
    for arm in arms:
        if arm.is_holdout:
            by_depth[(True, 0.0)].append(arm)
        elif arm.discount_percent is not None:
            by_depth[(False, float(arm.discount_percent))].append(arm)
    groups = [
        Depth(
            "holdout (no message)" if holdout else _percent_label(percent),
            percent,
            tuple(arm.pk for arm in group),
            tuple(arm.key for arm in group),
            holdout,
        )
        for (holdout, percent), group in sorted(by_depth.items(), key=lambda item: (not item[0][0], item[0][1]))
    ]
    if not any(not g.is_holdout for g in groups):
        raise DiscountError(
            "no arm has a discount set: give each message arm its discount_percent (0-"
            f"{MAX_DISCOUNT_PERCENT}) on the experiment page"
        )
    if len(groups) == 1:
        raise DiscountError(
            f"every arm offers the same discount ({groups[0].label}) and there is no holdout: there are no depths "
            "to compare; give the arms different discounts or add a holdout"
        )
    holdout = next((g for g in groups if g.is_holdout), None)
    zero = next((g for g in groups if not g.is_holdout and g.percent == 0), None)
    reference = holdout or zero
    if reference is None:
        offered = ", ".join(g.label for g in groups)
        raise DiscountError(
            f"no reference to measure the discounts against: the arms offer {offered}; add a holdout "
            "(holdout_weight > 0) or an arm at 0%"
        )
    if not any(g.percent > 0 for g in groups):
        raise DiscountError(
            "no arm offers a discount above 0%: every message arm offers 0%, so there are no depths to compare "
            "(the results page compares the message with the holdout)"
        )
    others = [g for g in groups if g is not reference]
    return reference, others, notes


def check_discount(arm: Arm, percent: object) -> Decimal | None:
    """The discount `percent` as stored (one decimal), or None for blank. Raises DiscountError naming the arm
    and the reason for a value that is not a number, outside 0-90, or a discount on the holdout."""
    if percent is None or (isinstance(percent, str) and not percent.strip()):
        return None
    try:
        value = Decimal(str(percent).strip())
    except ArithmeticError:
        raise DiscountError(f"arm {arm.key}: discount_percent={percent!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= MAX_DISCOUNT_PERCENT:
        raise DiscountError(
            f"arm {arm.key}: discount_percent={percent!r} must be between 0 and {MAX_DISCOUNT_PERCENT}"
        )
    if arm.is_holdout and value != 0:
        raise DiscountError(f"arm {arm.key} is the holdout (no message): it cannot offer a discount")
    return value.quantize(Decimal("0.1"))


def set_discounts(experiment: Experiment, discounts: Mapping[str, object], actor: Actor) -> dict[str, str | None]:
    """Store the discount each named arm offers (arm key -> percent, blank or None: not a discount arm),
    all or nothing, with an audit entry of the changes. Returns arm key -> the stored value as text."""
    arms = {arm.key: arm for arm in Arm.objects.filter(experiment=experiment)}
    unknown = sorted(set(discounts) - set(arms))
    if unknown:
        raise DiscountError(f"unknown arm(s) {', '.join(unknown)}; the experiment has {', '.join(sorted(arms))}")
    checked = {key: check_discount(arms[key], value) for key, value in discounts.items()}  # every one first
    changes = {
        key: {"from": _text(arms[key].discount_percent), "to": _text(value)}
        for key, value in checked.items()
        if arms[key].discount_percent != value
    }
    with transaction.atomic():
        for key, value in checked.items():
            Arm.objects.filter(pk=arms[key].pk).update(discount_percent=value)
        if changes:
            record(actor, AuditAction.OTHER, experiment, details={"discount_percent": changes})
    return {key: _text(value) for key, value in checked.items()}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


# --- per-customer outcomes -----------------------------------------------------------------------------


@dataclass
class Customers:
    """One row per assigned customer, as arrays."""

    arm_id: np.ndarray
    converted: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray
    stage: list[str]
    behaviour: list[int | None]
    costed_revenue: float


_COST_KNOWN = "pr.price > 0 AND (pr.attributes->>'cost') ~ '^[0-9]+(\\.[0-9]+)?$'"


def customer_outcomes(experiment: Experiment, until: datetime | None = None) -> Customers:
    """Per assigned customer: arm, converted, list revenue and cost of goods in the attribution window, the
    lifecycle stage at assignment (purchases before it, plus what retention carried over from older ones)
    and the behavioural segment now. One query."""
    params = window_params(experiment, until)
    params["default_cost"] = 1 - settings.DEFAULT_GROSS_MARGIN_PERCENT / 100
    until_sql = " AND a.assigned_at <= %(until)s" if until is not None else ""
    # the history before assignment is one grouped join (a lateral per customer let the planner pick the
    # type/time index and read every purchase once per customer on tables not yet analysed)
    sql = f"""
        WITH h AS (
            SELECT a.customer_id,
                   COUNT(DISTINCT COALESCE(NULLIF(e.order_id, ''), 'at:' || e.occurred_at::text)) AS orders,
                   MIN(e.occurred_at) AS first_order, MAX(e.occurred_at) AS last_order
            FROM {Assignment._meta.db_table} a
            JOIN {Event._meta.db_table} e ON e.customer_id = a.customer_id AND e.occurred_at < a.assigned_at
            WHERE a.experiment_id = %(experiment)s AND e.type = %(purchase)s{until_sql}
            GROUP BY a.customer_id
        )
        SELECT a.arm_id, COALESCE(o.purchases, 0) > 0, COALESCE(o.revenue, 0), COALESCE(o.cost, 0),
               COALESCE(o.costed, 0),
               COALESCE(h.orders, 0) + CASE WHEN c.last_order_at < a.assigned_at THEN c.orders ELSE 0 END,
               LEAST(h.first_order, CASE WHEN c.last_order_at < a.assigned_at THEN c.first_order_at END),
               GREATEST(h.last_order, CASE WHEN c.last_order_at < a.assigned_at THEN c.last_order_at END),
               a.assigned_at, p.behaviour_segment_id
        FROM {Assignment._meta.db_table} a
        LEFT JOIN LATERAL (
            SELECT COUNT(*) AS purchases, SUM(e.value) AS revenue,
                   SUM(e.value * CASE WHEN {_COST_KNOWN} THEN (pr.attributes->>'cost')::numeric / pr.price
                                      ELSE %(default_cost)s END) AS cost,
                   SUM(e.value) FILTER (WHERE {_COST_KNOWN}) AS costed
            FROM {Event._meta.db_table} e LEFT JOIN {Product._meta.db_table} pr ON pr.id = e.product_id
            WHERE {window_sql(until)} AND e.type = %(purchase)s
        ) o ON TRUE
        LEFT JOIN h ON h.customer_id = a.customer_id
        LEFT JOIN {CarriedTotals._meta.db_table} c ON c.customer_id = a.customer_id
        LEFT JOIN {CustomerProfile._meta.db_table} p ON p.customer_id = a.customer_id
        WHERE a.experiment_id = %(experiment)s{until_sql}
        ORDER BY a.customer_id
    """
    params["purchase"] = EventType.PURCHASE
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return Customers(
        arm_id=np.array([r[0] for r in rows], dtype=np.int64),
        converted=np.array([bool(r[1]) for r in rows], dtype=bool),
        revenue=np.array([float(r[2]) for r in rows], dtype=np.float64),
        cost=np.array([float(r[3]) for r in rows], dtype=np.float64),
        stage=[lifecycle_of(int(r[5]), r[6], r[7], r[8]) for r in rows],
        behaviour=[r[9] for r in rows],
        costed_revenue=float(sum(float(r[4]) for r in rows)),
    )


# --- the analysis --------------------------------------------------------------------------------------


def _money(value: float) -> str:
    if not math.isfinite(value):
        return "unknown"
    sign = "-" if value < 0 else ""
    return f"{sign}{settings.DEFAULT_CURRENCY} {abs(value):,.2f}"


def _interval_text(low: float, high: float) -> str:
    return f"{_money(low)} to {_money(high)}"


@dataclass
class DepthSample:
    """One depth's customers in one segment: converted, list revenue and margin per customer."""

    depth: Depth
    converted: np.ndarray
    revenue: np.ndarray
    margin: np.ndarray

    @property
    def n(self) -> int:
        return len(self.margin)


def _segment_rows(
    groups: list[DepthSample], reference: DepthSample, confidence: float
) -> list[dict[str, Any]]:
    rows = []
    for g in [reference, *groups]:
        successes = int(g.converted.sum())
        conv_low, conv_high = st.wilson_interval(successes, g.n, confidence)
        rev, rev_low, rev_high = mean_interval(g.revenue, confidence)
        inc, inc_low, inc_high = (
            (0.0, None, None) if g is reference else difference_interval(g.margin, reference.margin, confidence)
        )
        rows.append({
            "depth": g.depth.label,
            "discount_percent": g.depth.percent,
            "arms": list(g.depth.arm_keys),
            "is_reference": g is reference,
            "n": g.n,
            "converted": successes,
            "conversion_rate": json_number(st.rate(successes, g.n)),
            "conversion_ci": [json_number(conv_low), json_number(conv_high)],
            "revenue_per_customer": json_number(rev),
            "revenue_ci": [json_number(rev_low), json_number(rev_high)],
            "margin_per_customer": json_number(float(np.mean(g.margin)) if g.n else NAN),
            "incremental_margin": json_number(inc),
            "incremental_margin_ci": [json_number(inc_low), json_number(inc_high)],
        })
    return rows


def suggest(
    groups: list[DepthSample], reference: DepthSample, *, alpha: float, power: float
) -> dict[str, Any]:
    """The segment's suggestion: {"status": "suggested" | "not_enough_evidence" | "no_data", "depth",
    "discount_percent", "text", "sample_needed_per_arm", "compared_with"}, as the module docstring says."""
    confidence = 1 - alpha
    candidates = [reference, *groups]
    small = [g for g in candidates if g.n < 2]
    if small:
        listing = ", ".join(f"{g.depth.label} has {g.n}" for g in small)
        return {
            "status": "no_data", "depth": None, "discount_percent": None, "compared_with": [],
            "sample_needed_per_arm": None,
            "text": f"Not enough data: every depth needs at least two customers here ({listing}).",
        }
    means = {id(g): float(np.mean(g.margin)) for g in candidates}
    best = max(candidates, key=lambda g: (means[id(g)], g is reference, -g.depth.percent))
    open_against: list[tuple[DepthSample, float, float, float]] = []
    closest: tuple[DepthSample, float, float, float] | None = None
    for other in candidates:
        if other is best:
            continue
        diff, low, high = difference_interval(best.margin, other.margin, confidence)
        if closest is None or diff < closest[1]:
            closest = (other, diff, low, high)
        if not low > 0:
            open_against.append((other, diff, low, high))
    assert closest is not None
    ref_text = "the holdout" if reference.depth.is_holdout else f"the {reference.depth.label} message"

    def name(g: DepthSample) -> str:
        return ref_text if g is reference else g.depth.label

    level = f"{confidence:.0%}"
    if not open_against:
        other, diff, low, high = closest
        if best is reference:
            text = (
                f"No discount pays for itself here: every depth earns less margin per customer than {ref_text}; "
                f"the closest, {other.depth.label}, loses {_money(diff)} per customer "
                f"({level} interval {_interval_text(low, high)})."
            )
        else:
            inc, inc_low, inc_high = difference_interval(best.margin, reference.margin, confidence)
            text = (
                f"Offer {best.depth.label}: it earns {_money(inc)} more margin per customer than {ref_text} "
                f"({level} interval {_interval_text(inc_low, inc_high)})"
                + (
                    f", and {_money(diff)} more than the next best, {other.depth.label} "
                    f"({_interval_text(low, high)})." if other is not reference else "."
                )
            )
        return {
            "status": "suggested", "depth": best.depth.label,
            "discount_percent": None if best.depth.is_holdout else best.depth.percent,
            "compared_with": [other.depth.label], "sample_needed_per_arm": None, "text": text,
        }
    needed: list[float] = []
    for other, diff, _, _ in open_against:
        needed.append(
            sample_size_for_difference(
                float(np.var(best.margin, ddof=1)), float(np.var(other.margin, ddof=1)), diff, alpha, power
            )
        )
    finite = [n for n in needed if math.isfinite(n)]
    sample = math.ceil(max(finite)) if finite and len(finite) == len(needed) else None
    other, diff, low, high = min(open_against, key=lambda item: item[1])
    if best is reference:
        head = f"Not enough evidence: no discount looks better than {ref_text}, but {ref_text}'s"
    else:
        lead = _money(means[id(best)] - means[id(reference)])
        head = f"Not enough evidence: {best.depth.label} looks best ({lead} margin per customer over {ref_text})"
        head += ", but its"
    head += (
        f" lead over {name(other)} ({_money(diff)} per customer, {level} interval {_interval_text(low, high)})"
        " could be chance."
    )
    if sample is None:
        tail = (
            " The margins observed are the same, so no sample size follows from them: a real difference, if any, "
            "is smaller than this experiment can show."
        )
    elif sample > MAX_SAMPLE_SAID:
        tail = (
            f" Telling them apart would take more than {MAX_SAMPLE_SAID:,} customers per arm: the difference is "
            "too small to matter."
        )
    else:
        counts = " and ".join(f"{g.n:,} at {name(g)}" for g in (best, other))
        tail = (
            f" To tell them apart ({power:.0%} power, {alpha:g} level) about {sample:,} customers per arm are "
            f"needed; this segment has {counts}."
        )
    return {
        "status": "not_enough_evidence", "depth": None, "discount_percent": None,
        "compared_with": [o.depth.label for o, *_ in open_against],
        "sample_needed_per_arm": sample if sample is not None and sample <= MAX_SAMPLE_SAID else None,
        "text": head + tail,
    }


def _segments(
    experiment: Experiment, data: Customers, notes: list[str]
) -> list[tuple[dict[str, Any], np.ndarray]]:
    """(segment description, mask over customers): all customers, lifecycle stage at assignment, and
    behavioural segments when their membership predates the experiment."""
    n = len(data.arm_id)
    out: list[tuple[dict[str, Any], np.ndarray]] = [
        ({"key": ALL_KEY, "name": "All customers", "kind": "all", "membership": "everyone assigned"},
         np.ones(n, dtype=bool))
    ]
    stages = np.array(data.stage, dtype=object)
    names = dict(Segment.objects.filter(kind=Segment.Kind.LIFECYCLE).values_list("key", "name"))
    for stage in Lifecycle:
        mask = stages == stage.value
        if mask.any():
            key = lifecycle_key(stage.value)
            out.append((
                {"key": key, "name": names.get(key, stage.label), "kind": "lifecycle",
                 "membership": "lifecycle stage at assignment (purchases before it)"},
                mask,
            ))
    ids = {s for s in data.behaviour if s is not None}
    if ids:
        segments = list(Segment.objects.filter(pk__in=ids).order_by("name"))
        start = experiment.started_at
        later = [s for s in segments if start is None or s.updated_at > start]
        if later:
            notes.append(
                "behavioural segments left out: they were rebuilt after the experiment started "
                f"({later[0].updated_at:%Y-%m-%d %H:%M}), so their membership may reflect the offer itself"
            )
        else:
            behaviour = np.array([s if s is not None else -1 for s in data.behaviour], dtype=np.int64)
            for segment in segments:
                out.append((
                    {"key": segment.key, "name": segment.name, "kind": "behavioural",
                     "membership": "behavioural segment, unchanged since before the experiment started"},
                    behaviour == segment.pk,
                ))
    return out


def discount_suggestions(experiment: Experiment, until: datetime | None = None) -> dict[str, Any]:
    """Per segment: each depth's customers, conversion, revenue and incremental margin with intervals,
    and the suggestion or the sample needed. Plain JSON (undefined numbers are None).

    {"experiment", "campaign", "confidence", "alpha", "power", "currency", "reference": depth label,
    "depths": [{"depth", "discount_percent", "arms", "is_holdout"}], "gross_margin": {...}, "notes",
    "segments": [{"key", "name", "kind", "membership", "n", "rows": [...], "suggestion": {...}}]}.
    Raises DiscountError when the arms cannot answer the question.
    """
    arms = list(Arm.objects.filter(experiment=experiment).order_by("key"))
    reference_depth, depths, notes = depths_of(arms)
    data = customer_outcomes(experiment, until)
    discount_of_arm: dict[int, float] = {}
    for depth in [reference_depth, *depths]:
        for arm_id in depth.arm_ids:
            discount_of_arm[arm_id] = depth.fraction
    arm_fraction = np.array([discount_of_arm.get(int(a), NAN) for a in data.arm_id], dtype=np.float64)
    margin = (1 - np.nan_to_num(arm_fraction)) * data.revenue - data.cost
    confidence = 1 - experiment.alpha
    segments = []
    for description, mask in _segments(experiment, data, notes):
        def group(depth: Depth, mask: np.ndarray = mask) -> DepthSample:
            selected = mask & np.isin(data.arm_id, depth.arm_ids)
            return DepthSample(depth, data.converted[selected], data.revenue[selected], margin[selected])

        reference = group(reference_depth)
        groups = [group(d) for d in depths]
        segments.append({
            **description,
            "n": int(reference.n + sum(g.n for g in groups)),
            "rows": _segment_rows(groups, reference, confidence),
            "suggestion": suggest(groups, reference, alpha=experiment.alpha, power=experiment.power),
        })
    total_revenue = float(data.revenue.sum())
    return {
        "experiment": experiment.pk,
        "campaign": experiment.campaign_id,
        "confidence": confidence,
        "alpha": experiment.alpha,
        "power": experiment.power,
        "currency": settings.DEFAULT_CURRENCY,
        "reference": reference_depth.label,
        "depths": [
            {"depth": d.label, "discount_percent": d.percent, "arms": list(d.arm_keys), "is_holdout": d.is_holdout}
            for d in [reference_depth, *depths]
        ],
        "gross_margin": {
            "default_percent": settings.DEFAULT_GROSS_MARGIN_PERCENT,
            "setting": "DEFAULT_GROSS_MARGIN_PERCENT",
            "revenue_with_product_cost": json_number(data.costed_revenue / total_revenue if total_revenue else NAN),
        },
        "notes": notes,
        "segments": segments,
    }
