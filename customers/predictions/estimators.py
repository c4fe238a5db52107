"""The estimators behind each target and the model that is saved, loaded and scored with.

Gradient boosting throughout (missing values are their own branch, no scaling needed): calibrated
classifiers for probabilities, a Poisson-deviance regressor of the 90-day revenue (log link: many zeros and
a heavy tail in one model; the hurdle P(order) x E[revenue | an order] remains as `value_loss="hurdle"`) and
an absolute-error regressor of the gap to the next order. `ServedModel` is what joblib stores; it keeps
the feature names it was fitted on, so a model made for other features is refused on load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import nnls
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from .features import FEATURES, Dataset
from .targets import SEED, TargetSpec

VALUE_LOSS = "poisson"  # or "hurdle": on the demo shop Poisson ranked better at equal RMSE (docs/architecture.md)
ISOTONIC_FROM = 2000  # training rows from which isotonic calibration beats sigmoid (it overfits below)
STACK_MIN_ROWS = 100  # validation rows (and 20 of each outcome for classifiers) to fit the stack on
STACK_MIN_EACH = 20


def _booster_params(n: int) -> dict[str, Any]:
    return {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15,
            "min_samples_leaf": int(min(20, max(5, n // 20))), "l2_regularization": 1.0,
            "early_stopping": False, "random_state": SEED}


def fill_all_missing(X: np.ndarray) -> np.ndarray:
    """`X` with every column that is missing for all rows set to 0.

    scikit-learn's HistGradientBoosting cannot bin an all-missing column ("window shape cannot be larger than
    input array shape"); a shop with only orders has no views, so `days_since_last_view` is such a column. A
    constant is never split on, so the fitted model ignores that column whatever it is given later.
    """
    empty = np.isnan(X).all(axis=0) if len(X) else np.zeros(X.shape[1], dtype=bool)
    if not empty.any():
        return X
    filled = X.copy()
    filled[:, empty] = 0.0
    return filled


def fit_classifier(X: np.ndarray, y: np.ndarray) -> CalibratedClassifierCV:
    """Gradient boosting calibrated by 3-fold cross-validation: isotonic with enough rows, else sigmoid."""
    X = fill_all_missing(X)
    method = "isotonic" if len(y) >= ISOTONIC_FROM else "sigmoid"
    model = CalibratedClassifierCV(HistGradientBoostingClassifier(**_booster_params(len(y))), method=method, cv=3)
    return model.fit(X, y.astype(int))


def fit_value_regressor(X: np.ndarray, value: np.ndarray) -> tuple[HistGradientBoostingRegressor, float]:
    """log1p(revenue | an order) and a factor that makes the out-of-fold predictions sum to the revenue:
    exp() of a mean log under-predicts the mean, and Duan's smearing (mean exp(residual)) over-corrected by
    1.8x on the demo shop's heavy-tailed order values; a ratio of sums is calibrated in the large."""
    X = fill_all_missing(X)
    y = np.log1p(np.maximum(value, 0))
    params = _booster_params(len(y))
    model = HistGradientBoostingRegressor(**params).fit(X, y)
    folds = min(3, len(y))
    oof = cross_val_predict(HistGradientBoostingRegressor(**params), X, y, cv=folds) if folds >= 2 else y
    predicted = float(np.expm1(oof).clip(min=0).sum())
    smearing = float(np.maximum(value, 0).sum() / predicted) if predicted > 0 else 1.0
    return model, smearing


def fit_value_poisson(X: np.ndarray, value: np.ndarray) -> HistGradientBoostingRegressor:
    """One booster on the 90-day revenue itself, every customer, Poisson deviance with a log link (Tweedie with
    power 1): zeros need no separate model and the predictions' sum matches the revenue's in training."""
    X = fill_all_missing(X)
    return HistGradientBoostingRegressor(loss="poisson", **_booster_params(len(value))).fit(X, np.maximum(value, 0))


def fit_gap_regressor(X: np.ndarray, gap: np.ndarray) -> HistGradientBoostingRegressor:
    X = fill_all_missing(X)
    return HistGradientBoostingRegressor(loss="absolute_error", **_booster_params(len(gap))).fit(X, gap)


@dataclass
class ServedModel:
    """What is saved with joblib and loaded to score: the estimators and how to turn outputs into values."""

    target: str
    features: list[str]
    horizon: int
    classifier: Any = None
    regressor: Any = None
    smearing: float = 1.0
    # value_90d: "hurdle" (classifier x regressor) or "poisson" (regressor alone); the default is what versions
    # saved before this field were
    value_loss: str = "hurdle"
    fallback_gap: float | None = None  # next_order: for customers with one order (no gap of their own)
    stack: Stack | None = None  # with BG/NBD, fitted on the validation window; None in versions saved before it

    def predict(self, X: np.ndarray, recency: np.ndarray, *, stacked: bool = True) -> np.ndarray:
        """Probability (classifiers), currency (value) or days from the last order (gap); `stacked=False` is the
        booster alone (what the stack is fitted on)."""
        if not len(X):
            return np.empty(0)
        if self.target == "next_order":
            gap = np.asarray(self.regressor.predict(X), dtype=float)
            return np.clip(gap, recency, recency + self.horizon)
        if self.target == "value_90d" and self.value_loss == "poisson":
            base = np.asarray(self.regressor.predict(X), dtype=float)
        elif self.target == "value_90d":
            p = self.classifier.predict_proba(X)[:, 1]
            base = np.asarray(p * np.expm1(self.regressor.predict(X)).clip(min=0) * self.smearing, dtype=float)
        else:
            base = np.asarray(self.classifier.predict_proba(X)[:, 1], dtype=float)  # churn's classes are churned
        stack = getattr(self, "stack", None)
        return stack.apply(self.target, self.features, X, base) if stacked and stack is not None else base



def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(p / (1 - p)), dtype=float)


def btyd_inputs(target: str, features: list[str], X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The buy-till-you-die columns a target's stack reads, and which rows have none (customers without an
    order, or a cutoff where BG/NBD could not be fitted: its columns are 0 there)."""
    col = {name: i for i, name in enumerate(features)}
    if target == "value_90d":
        value = X[:, col["bgnbd_value_90d"]]
        missing = ~np.isfinite(value) | (value <= 0)
        return np.where(missing, 0.0, value)[:, None], missing
    expected = X[:, col["bgnbd_purchases_30d" if target == "purchase_30d" else "bgnbd_purchases_90d"]]
    alive = X[:, col["bgnbd_p_alive"]]
    missing = ~np.isfinite(expected) | ~np.isfinite(alive) | ((expected == 0) & (alive == 0))
    inputs = np.column_stack([np.log1p(np.where(missing, 0.0, expected.clip(min=0))),
                              np.where(missing, 0.0, _logit(np.nan_to_num(alive, nan=0.5))), missing])
    return inputs, missing


@dataclass
class Stack:
    """The booster's output combined with BG/NBD's own prediction, with weights fitted on the later validation
    window (rows the booster was not fitted on).

    Why: on histories that are mostly orders (the demo shop, a plain transactions file) BG/NBD alone ranked
    better than the booster that had its expectation among 33 features (`evaluate_predictions`); a booster on a
    few thousand rows spends its splits on noise. The stack keeps the booster where browsing, carts and email
    add something and leans on BG/NBD where they do not. Classifiers: a logistic regression on the booster's
    logit and BG/NBD's log expected orders and logit P(alive) (and a flag for customers BG/NBD does not cover).
    Value: non-negative weights on the booster's value and BG/NBD x Gamma-Gamma's (the booster's own value where
    BG/NBD has none).
    """

    coef: list[float]
    intercept: float = 0.0

    def apply(self, target: str, features: list[str], X: np.ndarray, base: np.ndarray) -> np.ndarray:
        inputs, missing = btyd_inputs(target, features, X)
        if target == "value_90d":
            other = np.where(missing, base, inputs[:, 0])
            return np.asarray(self.coef[0] * base + self.coef[1] * other, dtype=float)
        z = np.column_stack([_logit(base), inputs]) @ np.asarray(self.coef) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def fit_stack(model: ServedModel, valid: Dataset) -> Stack | None:
    """A stack of `model` (fitted without the validation rows) with BG/NBD on those rows; None when they are too
    few to fit one or BG/NBD covers nobody there."""
    if model.target == "next_order" or "bgnbd_p_alive" not in model.features or valid.size < STACK_MIN_ROWS:
        return None
    base = model.predict(valid.X, valid.recency, stacked=False)
    inputs, missing = btyd_inputs(model.target, model.features, valid.X)
    if missing.all():
        return None
    if model.target == "value_90d":
        other = np.where(missing, base, inputs[:, 0])
        weights, _ = nnls(np.column_stack([base, other]), np.maximum(valid.value, 0))
        return Stack([float(w) for w in weights]) if weights.sum() > 0 else None
    y = (~valid.bought if model.target == "churn" else valid.bought).astype(int)
    if min(y.sum(), len(y) - y.sum()) < STACK_MIN_EACH:
        return None
    fitted = LogisticRegression(C=1.0).fit(np.column_stack([_logit(base), inputs]), y)
    return Stack([float(c) for c in fitted.coef_[0]], float(fitted.intercept_[0]))


def fit_served(spec: TargetSpec, data: Dataset, value_loss: str | None = None) -> ServedModel:
    value_loss = value_loss or VALUE_LOSS
    model = ServedModel(spec.name, list(FEATURES), spec.horizon)
    if spec.kind == "classifier":
        y = ~data.bought if spec.name == "churn" else data.bought
        model.classifier = fit_classifier(data.X, y)
    elif spec.kind == "value" and value_loss == "poisson":
        model.value_loss = "poisson"
        model.regressor = fit_value_poisson(data.X, data.value)
    elif spec.kind == "value":
        model.classifier = fit_classifier(data.X, data.bought)
        buyers = data.bought
        model.regressor, model.smearing = fit_value_regressor(data.X[buyers], data.value[buyers])
    else:
        reordered = ~np.isnan(data.gap)
        model.regressor = fit_gap_regressor(data.X[reordered], data.gap[reordered])
        model.fallback_gap = float(np.median(data.gap[reordered]))
    return model
