"""Every prediction method judged at one cutoff of a transactions history: `manage.py evaluate_predictions`.

Features come from the orders before the cutoff, outcomes from the orders after it. Every method is fitted
on `history_before(h, cutoff)`, a `History` that holds nothing from the cutoff on, so no outcome can reach a
fit (tests/customers/test_evaluate_predictions.py changes every later row and checks that no prediction moves):
- `mean`: the base rate (or mean 90-day value) of the earlier window that ends at the cutoff;
- `recency`: days since the last order alone; its ranking gives AUC, Gini and Spearman, and a monotone
  (isotonic) mapping fitted on that earlier window turns it into probabilities and values, so its Brier,
  RMSE and MAE are out of sample too;
- `bgnbd`: BG/NBD for purchases and alive-ness, with Gamma-Gamma for the spend per order (`btyd`);
- `model`: the project's gradient boosting, trained as `train_predictions` trains it (`training.train_target`:
  its own earlier windows for validation, then a refit on every window), on the history before the cutoff.

Targets: `purchase_30d` (customers with an order before the cutoff), `churn_90d` (no order in the 90 days
after it, same customers) and `value_90d` (revenue in those 90 days). A target whose outcome window runs past
the end of the data is refused: its labels would count unseen orders as none.

Intervals: the 2.5th and 97.5th percentiles over `RESAMPLES` bootstrap resamples of the customers (the same
resamples for every method, so methods can be compared pairwise), from a fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

from .btyd import BuyTillYouDie, rfm_at
from .evaluation import normalised_gini, spearman
from .features import FeatureCache, cached_features, features_at, labels_at, matrix, population
from .history import History, day_text
from .targets import SEED, TARGETS, NotEnoughHistory, TargetSpec
from .training import train_target
from .transactions import Transactions, history_before

RESAMPLES = 200  # bootstrap resamples of customers; the intervals' third digit settles around here
METHODS = ("mean", "recency", "bgnbd", "model")
BACKTEST_TARGETS: dict[str, TargetSpec] = {
    "purchase_30d": TARGETS["purchase_30d"],
    "churn_90d": TARGETS["churn"],
    "value_90d": TARGETS["value_90d"],
}
CLASSIFIER_METRICS = ("auc", "brier")
VALUE_METRICS = ("normalised_gini", "spearman", "rmse", "mae")


class BacktestError(ValueError):
    """The cutoff cannot be evaluated on this history (outside the data, nobody before it)."""


@dataclass
class Prediction:
    """A method's output for a target's customers: what is scored (probability or value) and what is ranked."""

    values: np.ndarray
    ranking: np.ndarray


Method = Callable[[str, "Context"], Prediction]


@dataclass
class Context:
    """What the methods of one target share: the history before the cutoff and the customers scored."""

    spec: TargetSpec
    past: History
    cutoff: float
    rows: np.ndarray  # dense customer indexes scored at the cutoff
    features: dict[str, np.ndarray]  # features at the cutoff, every customer
    cache: FeatureCache
    fits: dict[str, Any]  # fits the targets share (one BG/NBD for all three)


# --- metrics ---------------------------------------------------------------------------------------------

def auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else math.nan


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def metric_values(kind: str, y: np.ndarray, pred: Prediction) -> dict[str, float]:
    if kind == "classifier":
        return {"auc": auc(y, pred.ranking), "brier": brier(y, pred.values)}
    err = pred.values - y
    return {"normalised_gini": normalised_gini(y, pred.ranking), "spearman": spearman(y, pred.ranking),
            "rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def _round(x: float) -> float | None:
    return round(float(x), 4) + 0.0 if x is not None and math.isfinite(x) else None  # no "-0.0", no NaN in JSON


def with_intervals(kind: str, y: np.ndarray, pred: Prediction, resamples: np.ndarray) -> dict[str, Any]:
    """Each metric and its `<metric>_ci` [2.5%, 97.5%] over the bootstrap resamples of customers."""
    point = metric_values(kind, y, pred)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for idx in resamples:
        for k, v in metric_values(kind, y[idx], Prediction(pred.values[idx], pred.ranking[idx])).items():
            draws[k].append(v)
    out: dict[str, Any] = {}
    for k, v in point.items():
        finite = np.array([d for d in draws[k] if not math.isnan(d)])
        out[k] = _round(v)
        out[f"{k}_ci"] = ([_round(float(np.percentile(finite, 2.5))), _round(float(np.percentile(finite, 97.5)))]
                          if len(finite) and not math.isnan(v) else None)
    return out


# --- methods ----------------------------------------------------------------------------------------------

def outcome(target: str, h: History, cutoff: float, horizon: int) -> np.ndarray:
    """Every customer's outcome in [cutoff, cutoff + horizon): ordered (bool), churned (bool) or revenue."""
    labels = labels_at(h, cutoff, horizon)
    if target == "value_90d":
        return labels.value
    return ~labels.bought if target == "churn_90d" else labels.bought


def _earlier_window(target: str, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """(recency, outcome) of the target's customers at cutoff - horizon, whose outcomes end at the cutoff."""
    earlier = ctx.cutoff - ctx.spec.horizon
    seen, f = features_at(ctx.past, earlier)
    rows = population(ctx.spec, seen, f)
    if len(rows) == 0:
        raise NotEnoughHistory(
            f"no customer ordered before {day_text(earlier)}, the start of the window of {ctx.spec.horizon} "
            "days before the cutoff that this method is fitted on"
        )
    y = outcome(target, ctx.past, earlier, ctx.spec.horizon)[rows]
    return f["recency_days"][rows], y.astype(np.float64)


def mean_method(target: str, ctx: Context) -> Prediction:
    _, y = _earlier_window(target, ctx)
    values = np.full(len(ctx.rows), float(y.mean()))
    return Prediction(values, values)


def recency_method(target: str, ctx: Context) -> Prediction:
    recency_e, y = _earlier_window(target, ctx)
    increasing = target == "churn_90d"  # the longer since the last order, the likelier churn, the less value
    mapping = IsotonicRegression(increasing=increasing, out_of_bounds="clip").fit(recency_e, y)
    recency = ctx.features["recency_days"][ctx.rows]
    return Prediction(np.asarray(mapping.predict(recency), dtype=float), recency if increasing else -recency)


def model_method(target: str, ctx: Context) -> Prediction:
    served, _metrics, _params = train_target(ctx.spec, ctx.past, ctx.cache)
    _seen, f = cached_features(ctx.past, ctx.cutoff, ctx.cache)
    values = served.predict(matrix(f, ctx.rows), f["recency_days"][ctx.rows])
    return Prediction(values, values)


def fitted_btyd(ctx: Context) -> BuyTillYouDie:
    """BG/NBD (+ Gamma-Gamma) on the RFM summary at the cutoff, fitted once for the three targets; a failed fit is
    remembered too, so each target reports it without refitting."""
    if "bgnbd" not in ctx.fits:
        try:
            ctx.fits["bgnbd"] = BuyTillYouDie.fit(rfm_at(ctx.past, ctx.cutoff))
        except NotEnoughHistory as exc:
            ctx.fits["bgnbd"] = exc
    fit = ctx.fits["bgnbd"]
    if isinstance(fit, Exception):
        raise fit
    return fit


def bgnbd_method(target: str, ctx: Context) -> Prediction:
    """P(an order in 30 days), 1 - P(an order in 90 days), and expected orders x Gamma-Gamma spend in 90 days."""
    model = fitted_btyd(ctx)
    rfm = rfm_at(ctx.past, ctx.cutoff)
    if target == "purchase_30d":
        values = model.p_purchase(rfm, 30)
    elif target == "churn_90d":
        values = 1 - model.p_purchase(rfm, 90)
    else:
        values = model.expected_value(rfm, 90)
    values = values[ctx.rows]
    missing = int((~np.isfinite(values)).sum())
    if missing:
        raise NotEnoughHistory(f"BG/NBD gave no finite prediction for {missing} of {len(values)} customers")
    return Prediction(values, values)


METHOD_FUNCTIONS: dict[str, Method] = {
    "mean": mean_method, "recency": recency_method, "bgnbd": bgnbd_method, "model": model_method,
}


# --- the run ----------------------------------------------------------------------------------------------

def check_cutoff(tx: Transactions, cutoff: float) -> None:
    h = tx.history
    if not len(h.o_t):
        raise BacktestError(f"no orders were read (skipped: {tx.skipped})")
    first, last = day_text(tx.first_order), day_text(tx.last_order)
    if cutoff > tx.last_order:
        raise BacktestError(
            f"the cutoff {day_text(cutoff)} is after the last order ({last}): there are no outcomes to compare; "
            f"choose a cutoff between {first} and {last}"
        )
    if not (h.o_t < cutoff).any():
        raise BacktestError(
            f"no customer ordered before the cutoff {day_text(cutoff)} (the first order is on {first}): "
            f"there is nobody to predict for; choose a cutoff between {first} and {last}"
        )


@dataclass
class CutoffPredictions:
    """Each target's customers at the cutoff and each method's prediction for them (or why it refused)."""

    past: History
    rows: dict[str, np.ndarray]
    predictions: dict[str, dict[str, Prediction | str]]
    fits: dict[str, Any]


def predict_at_cutoff(tx: Transactions, cutoff: float, methods: Sequence[str] = METHODS) -> CutoffPredictions:
    """Every method's predictions for every target, from `history_before(cutoff)` alone: this function never
    sees an order from the cutoff on."""
    check_cutoff(tx, cutoff)
    past = history_before(tx.history, cutoff)
    seen, f = features_at(past, cutoff)
    cache: FeatureCache = {}
    rows: dict[str, np.ndarray] = {}
    predictions: dict[str, dict[str, Prediction | str]] = {}
    fits: dict[str, Any] = {}
    for target, spec in BACKTEST_TARGETS.items():
        rows[target] = population(spec, seen, f)
        ctx = Context(spec, past, cutoff, rows[target], f, cache, fits)
        predictions[target] = {}
        for name in methods:
            try:
                predictions[target][name] = METHOD_FUNCTIONS[name](target, ctx)
            except (NotEnoughHistory, ValueError, FloatingPointError) as exc:
                predictions[target][name] = str(exc)
    return CutoffPredictions(past, rows, predictions, fits)


def evaluate_at_cutoff(
    tx: Transactions, cutoff: float, *, methods: Sequence[str] = METHODS, resamples: int = RESAMPLES,
) -> dict[str, Any]:
    """The whole report: for each target its customers, outcomes and each method's metrics with intervals.
    A method that cannot run on this history (too short for its earlier window) says why instead."""
    made = predict_at_cutoff(tx, cutoff, methods)
    h = tx.history
    data_end = float(np.floor(tx.last_order) + 1)  # the day of the last order is observed whole
    rng = np.random.default_rng(SEED)
    report: dict[str, Any] = {
        "cutoff": day_text(cutoff),
        "data_start": day_text(tx.first_order),
        "data_end": day_text(tx.last_order),
        "rows": tx.rows,
        "orders": tx.orders,
        "orders_before": int((h.o_t < cutoff).sum()),
        "orders_after": int((h.o_t >= cutoff).sum()),
        "customers": len(made.rows["purchase_30d"]),
        "skipped_rows": tx.skipped_rows,
        "skipped": dict(tx.skipped),
        "bootstrap": {"resamples": resamples, "seed": SEED, "interval": "2.5th to 97.5th percentile"},
        "targets": {},
    }
    bgnbd = made.fits.get("bgnbd")
    if isinstance(bgnbd, BuyTillYouDie):  # the fitted process, with its 95% intervals, per day
        report["bgnbd"] = {"params": {k: _round(v) for k, v in bgnbd.params.items()},
                           "params_ci": {k: [_round(lo), _round(hi)] for k, (lo, hi) in bgnbd.intervals.items()},
                           "gamma_gamma": bgnbd.gamma_gamma, "notes": bgnbd.notes}
    for target, spec in BACKTEST_TARGETS.items():
        rows = made.rows[target]
        entry: dict[str, Any] = {"horizon_days": spec.horizon, "customers": len(rows)}
        report["targets"][target] = entry
        if cutoff + spec.horizon > data_end:
            latest = data_end - spec.horizon
            advice = (f"choose a cutoff on or before {day_text(latest)}" if latest > tx.first_order else
                      f"the data cover {round(data_end - tx.first_order)} days from {day_text(tx.first_order)}: too "
                      "few for any cutoff")
            entry["refused"] = (
                f"the data ends on {day_text(tx.last_order)}, {max(0, round(data_end - cutoff))} days after the "
                f"cutoff; {target} needs {spec.horizon} days of outcomes ({advice})"
            )
            continue
        y = outcome(target, h, cutoff, spec.horizon)[rows].astype(np.float64)
        kind = "value" if target == "value_90d" else "classifier"
        if kind == "classifier":
            entry["positives"] = int(y.sum())
            entry["rate"] = _round(float(y.mean()))
        else:
            entry["buyers"] = int((y > 0).sum())
            entry["mean_value"] = _round(float(y.mean()))
        draws = rng.integers(0, len(rows), size=(resamples, len(rows)))
        entry["methods"] = {
            name: {"refused": pred} if isinstance(pred, str) else with_intervals(kind, y, pred, draws)
            for name, pred in made.predictions[target].items()
        }
    return report
