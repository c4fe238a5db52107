"""Uplift modelling maths: pure numpy / scikit-learn / scikit-uplift, no Django, so the simulation in
`evaluation/uplift.py`, the tests and the training job run exactly the same code.

- Model: a T-learner (scikit-uplift's `TwoModels`, method "vanilla"): one gradient-boosting classifier
  on the treated customers, one on the control, uplift = P(convert | offer) - P(convert | no offer).
  Missing features (no order yet) are their own branch of the trees, as in `customers.predictions`.
- Evaluation on a held-out part, stratified by treatment and outcome, fixed seed: scikit-uplift's Qini
  coefficient (`qini_auc_score`: area between the model's Qini curve and the random line over the same
  area of the perfect curve, negative effects allowed) and normalised AUUC (`uplift_auc_score`); the
  Qini curve itself; and the uplift observed in the top 10/20/30% by predicted uplift (treated rate minus
  control rate in that slice, Newcombe interval from `experiment_stats`).
- Sample needed: the two-proportion sample size (`experiment_stats.sample_size_per_arm`) for the
  observed base rate and a plausible uplift (`plausible_uplift`), scaled so that the top 20% of the
  held-out part alone has it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklift.metrics import qini_auc_score, qini_curve, uplift_auc_score
from sklift.models import TwoModels

from . import experiment_stats as st

SEED = 0
TEST_FRACTION = 0.3  # held-out share of the experiment's customers
TOP_FRACTIONS = (0.1, 0.2, 0.3)
CURVE_POINTS = 51  # Qini curve points kept for the chart (every 2% of the customers)
JUDGED_FRACTION = 0.2  # the sample needed is for the uplift of this top slice of the held-out part
MIN_PER_ARM = 50  # training rows per group below which a T-learner's two models are noise
MIN_CONVERSIONS = 5  # conversions per group in the training part (a classifier needs both classes)
BOOTSTRAP_DRAWS = 1000


class UpliftDataError(ValueError):
    """The experiment cannot train an uplift model; the message says why (and what sample is needed)."""


@contextmanager
def _quiet() -> Iterator[None]:
    """scikit-uplift 0.5.1 calls `sklearn.utils.extmath.stable_cumsum`, deprecated in scikit-learn 1.8 (removed
    in 1.10: the metrics tests compare with hand-computed values, so that upgrade cannot pass silently)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*stable_cumsum.*", category=FutureWarning)
        yield


def booster(n: int, seed: int = SEED) -> HistGradientBoostingClassifier:
    """The base learner of each arm: small trees and a leaf size that grows with the data (few rows per arm)."""
    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=int(min(40, max(10, n // 25))),
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )


@dataclass
class UpliftModel:
    """What joblib stores: the fitted T-learner and the feature names it was fitted on."""

    features: list[str]
    learner: Any
    columns: list[int]  # the features that had a value in training (an all-missing column breaks the binning)
    seed: int = SEED

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted uplift (difference of conversion probabilities) per row."""
        if not len(X):
            return np.empty(0)
        return np.asarray(self.learner.predict(X[:, self.columns]), dtype=float).ravel()


def fit_uplift(X: np.ndarray, treated: np.ndarray, converted: np.ndarray, features: Sequence[str],
               seed: int = SEED) -> UpliftModel:
    t, y = np.asarray(treated, dtype=int), np.asarray(converted, dtype=int)
    check_trainable(t, y)
    learner = TwoModels(estimator_trmnt=booster(int(t.sum()), seed), estimator_ctrl=booster(int((1 - t).sum()), seed),
                        method="vanilla")
    columns = [int(c) for c in np.flatnonzero(~np.isnan(np.asarray(X, dtype=float)).all(axis=0))]
    if not columns:
        raise UpliftDataError("no feature has a value for any customer: nothing to tell them apart")
    learner.fit(X[:, columns], y, t)
    return UpliftModel(list(features), learner, columns, seed)


def check_trainable(treated: np.ndarray, converted: np.ndarray) -> None:
    """Raise UpliftDataError unless both groups have enough rows and conversions (and some non-conversions)."""
    for name, mask in (("treated", treated == 1), ("control", treated == 0)):
        n, s = int(mask.sum()), int(converted[mask].sum())
        if n < MIN_PER_ARM:
            raise UpliftDataError(f"the {name} group has {n} customers; at least {MIN_PER_ARM} are needed")
        if s < MIN_CONVERSIONS or n - s < MIN_CONVERSIONS:
            raise UpliftDataError(
                f"the {name} group has {s} conversions out of {n}; at least {MIN_CONVERSIONS} conversions "
                f"and {MIN_CONVERSIONS} non-conversions are needed"
            )


def split(treated: np.ndarray, converted: np.ndarray, test_fraction: float = TEST_FRACTION,
          seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indexes, stratified by treatment x outcome (by treatment alone when a cell is tiny)."""
    idx = np.arange(len(treated))
    strata = np.asarray(treated, dtype=int) * 2 + np.asarray(converted, dtype=int)
    if np.bincount(strata, minlength=4).min() < 2:
        strata = np.asarray(treated, dtype=int)
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=strata)
    return np.sort(train), np.sort(test)


def qini_points(converted: np.ndarray, uplift: np.ndarray, treated: np.ndarray,
                n_points: int = CURVE_POINTS) -> list[dict[str, float]]:
    """The Qini curve at `n_points` evenly spaced shares of the customers (ranked by predicted uplift):
    share, model (incremental conversions: treated conversions - control conversions x n_treated / n_control
    among the top share) and random (the straight line to the same end)."""
    with _quiet():
        x, y = qini_curve(converted, uplift, treated)
    n = len(converted)
    grid = np.linspace(0.0, 1.0, n_points)
    model = np.interp(grid * n, np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    end = float(y[-1])
    return [{"share": round(float(g), 4), "model": round(float(m), 3), "random": round(end * float(g), 3)}
            for g, m in zip(grid, model, strict=True)]


def top_slices(converted: np.ndarray, uplift: np.ndarray, treated: np.ndarray,
               fractions: Sequence[float] = TOP_FRACTIONS) -> list[dict[str, Any]]:
    """Observed uplift in each top share by predicted uplift: treated rate - control rate with Newcombe's
    95% interval (None when a group of the slice is empty)."""
    order = np.argsort(-uplift, kind="mergesort")
    rows = []
    for fraction in fractions:
        top = order[: max(1, math.ceil(fraction * len(order)))]
        t, y = treated[top] == 1, converted[top] == 1
        nt, nc, st_, sc = int(t.sum()), int((~t).sum()), int((y & t).sum()), int((y & ~t).sum())
        treated_rate, control_rate = st.rate(st_, nt), st.rate(sc, nc)
        low, high = st.newcombe_interval(st_, nt, sc, nc)
        rows.append({
            "fraction": fraction, "n": len(top), "treated": nt, "control": nc,
            "treated_conversions": st_, "control_conversions": sc,
            "treated_rate": _num(treated_rate), "control_rate": _num(control_rate),
            "uplift": _num(treated_rate - control_rate), "low": _num(low), "high": _num(high),
            "mean_predicted": float(np.mean(uplift[top])),
        })
    return rows


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def evaluate(converted: np.ndarray, uplift: np.ndarray, treated: np.ndarray) -> dict[str, Any]:
    """Qini coefficient, normalised AUUC, the Qini curve and the top-slice table on one (held-out) part."""
    y, u, t = (np.asarray(a) for a in (converted, uplift, treated))
    y, t = y.astype(int), t.astype(int)
    with _quiet():
        qini = float(qini_auc_score(y, u, t))
        auuc = float(uplift_auc_score(y, u, t))
    return {
        "qini_coefficient": qini, "auuc": auuc,
        "n_treated": int(t.sum()), "n_control": int((1 - t).sum()),
        "treated_conversions": int(y[t == 1].sum()), "control_conversions": int(y[t == 0].sum()),
        "top": top_slices(y, u, t), "qini_curve": qini_points(y, u, t),
    }


def plausible_uplift(minimum_detectable_effect: float, treated_rate: float, control_rate: float) -> float:
    """The uplift the sample is sized for: the observed average uplift when it is larger than the experiment's
    minimum detectable effect (a useful top slice gains at least the average), else that effect."""
    observed = treated_rate - control_rate
    useful = math.isfinite(observed) and minimum_detectable_effect < observed < 1
    return observed if useful else minimum_detectable_effect


def sample_needed(base_rate: float, uplift: float, *, alpha: float = 0.05, power: float = 0.8,
                  judged_fraction: float = JUDGED_FRACTION, test_fraction: float = TEST_FRACTION) -> int | None:
    """Customers per arm for the top `judged_fraction` of the held-out part to detect `uplift` over
    `base_rate` (two-sided, `alpha`, `power`): the classic per-arm size / judged share / held-out share.
    None when it cannot be computed (base rate unknown, or base +- uplift leaves [0, 1])."""
    per_slice = st.sample_size_per_arm(base_rate, uplift, alpha, power)
    if math.isnan(per_slice):
        return None
    return math.ceil(per_slice / judged_fraction / test_fraction)


@dataclass
class CapturedShare:
    """Share of the true incremental conversions that targeting the top `fraction` captures."""

    fraction: float
    share: float
    low: float
    high: float
    random_share: float
    draws: int = BOOTSTRAP_DRAWS


def captured_share(true_uplift: np.ndarray, predicted: np.ndarray, fraction: float = JUDGED_FRACTION,
                   *, draws: int = BOOTSTRAP_DRAWS, seed: int = SEED) -> CapturedShare:
    """sum(true uplift of the top `fraction` by prediction) / sum(true uplift of everyone), with a
    percentile bootstrap interval over customers (the fitted model held fixed). Random targeting
    captures `fraction` in expectation. Sleeping dogs (negative uplift) count against the total, so a
    model that avoids them can capture more than 100% at a small `fraction`."""
    tau, pred = np.asarray(true_uplift, float), np.asarray(predicted, float)

    def share(rows: np.ndarray) -> float:
        k = max(1, math.ceil(fraction * len(rows)))
        top = rows[np.argsort(-pred[rows], kind="mergesort")[:k]]
        return float(tau[top].sum() / tau[rows].sum())

    everyone = np.arange(len(tau))
    rng = np.random.default_rng(seed)
    boot = np.array([share(rng.integers(0, len(tau), len(tau))) for _ in range(draws)])
    low, high = np.percentile(boot, [2.5, 97.5])
    return CapturedShare(fraction, share(everyone), float(low), float(high), fraction, draws)
