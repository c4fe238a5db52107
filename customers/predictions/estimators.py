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
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import cross_val_predict

from .features import FEATURES, Dataset
from .targets import SEED, TargetSpec

VALUE_LOSS = "poisson"  # or "hurdle": on the demo shop Poisson ranked better at equal RMSE (docs/architecture.md)
ISOTONIC_FROM = 2000  # training rows from which isotonic calibration beats sigmoid (it overfits below)


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

    def predict(self, X: np.ndarray, recency: np.ndarray) -> np.ndarray:
        """Probability (classifiers), currency (value) or days from the last order (gap)."""
        if not len(X):
            return np.empty(0)
        if self.target == "value_90d" and self.value_loss == "poisson":
            return np.asarray(self.regressor.predict(X), dtype=float)
        if self.target == "value_90d":
            p = self.classifier.predict_proba(X)[:, 1]
            return np.asarray(p * np.expm1(self.regressor.predict(X)).clip(min=0) * self.smearing, dtype=float)
        if self.target == "next_order":
            gap = np.asarray(self.regressor.predict(X), dtype=float)
            return np.clip(gap, recency, recency + self.horizon)
        return np.asarray(self.classifier.predict_proba(X)[:, 1], dtype=float)  # churn's classes are churned



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
