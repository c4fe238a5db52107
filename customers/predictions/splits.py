"""The time split: which cutoffs train, validate and refit a target, and when a target is refused.

Several training cutoffs (one every 30 days) are stacked to have enough rows; validation is the *latest*
window (cutoff = now - horizon), whose labels no training row saw. When the history is too short for a
separate later window, validation holds out 25% of customers at the same cutoff (said so in the metrics:
that is optimistic about drift). A training or validation set that cannot teach or judge the target
raises `NotEnoughHistory` saying what was found and what is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .features import Dataset
from .history import DAY, History, day_text
from .targets import SEED, NotEnoughHistory, TargetSpec

WINDOW_STEP = 30  # days between stacked training cutoffs
MAX_TRAIN_WINDOWS = 6  # more old windows add rows but describe an older shop
MIN_ROWS = 30  # training rows (customer x cutoff) below which a model is noise
MIN_PER_CLASS = 5  # of each outcome, in training and in validation, for a classifier
MIN_REGRESSION_ROWS = 20  # buyers (value) or re-orders (next order) to fit a regressor on
VALIDATION_SHARE = 0.25  # customers held out when the history is too short for a later window


@dataclass
class Plan:
    mode: str  # "later window" or "customer split"
    train_cutoffs: list[float]
    validation_cutoff: float
    refit_cutoffs: list[float]


def plan_windows(spec: TargetSpec, h: History) -> Plan:
    """Cutoffs for training, validation and the final refit, or NotEnoughHistory saying why not."""
    need = spec.min_feature_days + spec.horizon
    if len(h.o_t) == 0:  # only views, carts...: every label is "no order", nothing to learn (nor to fit on)
        raise NotEnoughHistory(
            f"{spec.name}: needs purchases; found 0 among {int(h.a_count.sum()) if len(h.a_count) else 0} events "
            f"of {h.n} customers before {day_text(h.now)}"
        )
    start = h.start
    if start is None:
        raise NotEnoughHistory(
            f"{spec.name}: no events before {day_text(h.now)}; it needs at least {need} days of history: "
            f"{spec.min_feature_days} of features before the cutoff and {spec.horizon} of outcome after it"
        )
    span = h.now - start
    if span < need:
        raise NotEnoughHistory(
            f"{spec.name}: history spans {round(span)} days ({day_text(start)} to {day_text(h.now - 1 / DAY)}); "
            f"{spec.name} needs at least {need} days: {spec.min_feature_days} of features before the cutoff "
            f"and {spec.horizon} of outcome after it"
        )
    validation = h.now - spec.horizon
    earliest = start + spec.min_feature_days

    def cutoffs_from(latest: float) -> list[float]:
        out: list[float] = []
        c = latest
        while c >= earliest and len(out) < MAX_TRAIN_WINDOWS:
            out.append(c)
            c -= WINDOW_STEP
        return out

    train = cutoffs_from(validation - spec.horizon)
    if train:
        return Plan("later window", train, validation, cutoffs_from(validation))
    single = cutoffs_from(validation)
    return Plan("customer split", single, validation, single)


def split_customers(data: Dataset, n_customers: int) -> np.ndarray:
    """Validation mask: a fixed random 25% of customers (all their rows), for the customer-split mode."""
    rng = np.random.default_rng(SEED)
    held = rng.random(n_customers) < VALIDATION_SHARE
    return held[data.rows.astype(np.int64)]


def _cutoff_text(cutoffs: Sequence[float]) -> str:
    dates = sorted({day_text(c) for c in cutoffs})
    return dates[0] if len(dates) == 1 else f"{len(dates)} cutoffs {dates[0]} to {dates[-1]}"


def check_dataset(spec: TargetSpec, data: Dataset, where: str, cutoffs: Sequence[float]) -> None:
    """Refuse a training or validation set that cannot teach or judge the target."""
    who = {"seen": "customers with events", "buyers": "customers with an order",
           "repeat": "customers with two or more orders"}[spec.population]
    at = f"at {_cutoff_text(cutoffs)}"
    minimum = MIN_ROWS if where == "training" else MIN_PER_CLASS * 2
    if data.size < minimum:
        raise NotEnoughHistory(
            f"{spec.name}: {where} has {data.size} {who} {at}; it needs at least {minimum}"
        )
    if spec.kind in ("classifier", "value"):
        positive = int(data.bought.sum())
        negative = data.size - positive
        if min(positive, negative) < MIN_PER_CLASS:
            raise NotEnoughHistory(
                f"{spec.name}: {where} labels have {'one class' if min(positive, negative) == 0 else 'too few of one'}"
                f": of {data.size} {who} {at}, {positive} ordered within {spec.horizon} days and {negative} did "
                f"not; a classifier needs at least {MIN_PER_CLASS} of each"
            )
    if spec.kind in ("value", "gap"):
        rows = int(data.bought.sum()) if spec.kind == "value" else int((~np.isnan(data.gap)).sum())
        minimum = MIN_REGRESSION_ROWS if where == "training" else MIN_PER_CLASS
        if rows < minimum:
            what = "ordered" if spec.kind == "value" else "ordered again"
            raise NotEnoughHistory(
                f"{spec.name}: in {where}, {rows} of {data.size} {who} {at} {what} within {spec.horizon} days; "
                f"the regression needs at least {minimum}"
            )
