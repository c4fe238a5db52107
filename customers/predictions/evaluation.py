"""How good a target's model is on the validation rows, beside naive baselines that give the numbers a scale.

Classifiers: AUC, Brier, log loss and a calibration table, against the training base rate and recency
alone. Value: MAE and RMSE (error), normalised Gini and Spearman (ranking) against the training mean, "the
last 90 days repeat", BG/NBD + Gamma-Gamma and zero. Next order: MAE in days against the customer's own and
the global median gap. Every target has `deciles` (mean predicted vs mean actual per decile of prediction)
and names the metric a new version is selected by (`selection`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from .estimators import ServedModel
from .features import FEATURES, Dataset
from .targets import TargetSpec


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Deciles of predicted probability: how many, mean predicted, observed rate."""
    order = np.argsort(p, kind="stable")
    out = []
    for i, idx in enumerate(np.array_split(order, bins)):
        if len(idx):
            out.append({"decile": i + 1, "n": len(idx), "mean_predicted": round(float(p[idx].mean()), 4),
                        "observed": round(float(y[idx].mean()), 4)})
    return out


def decile_table(actual: np.ndarray, predicted: np.ndarray) -> list[dict[str, Any]]:
    """Ten groups of rows by predicted value, lowest first: how many, mean predicted, mean actual. The admin draws
    it (predicted vs actual per decile); a model that ranks well has actuals rising with the deciles."""
    order = np.argsort(predicted, kind="stable")
    return [{"decile": i + 1, "n": len(idx), "mean_predicted": round(float(predicted[idx].mean()), 4),
             "mean_actual": round(float(actual[idx].mean()), 4)}
            for i, idx in enumerate(np.array_split(order, 10)) if len(idx)]


def value_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """MAE and RMSE (the error), normalised Gini and Spearman (the ranking) of a value prediction."""
    return {"mae": _mae(predicted, actual), "rmse": _rmse(predicted, actual),
            "normalised_gini": _rounded(normalised_gini(actual, predicted)),
            "spearman": _rounded(spearman(actual, predicted))}


def classifier_metrics(y: np.ndarray, p: np.ndarray, base_rate: float, naive_score: np.ndarray) -> dict[str, Any]:
    y = y.astype(int)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 4),
        "baseline_brier": round(float(brier_score_loss(y, np.full(len(y), base_rate))), 4),
        "baseline_auc": round(float(roc_auc_score(y, naive_score)), 4),
        "observed_rate": round(float(y.mean()), 4),
        "mean_predicted": round(float(p.mean()), 4),
        "calibration": calibration_table(y, p),
    }


def normalised_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """How well `predicted` ranks `actual`: the Gini of the actual values ordered by prediction over the Gini of
    the perfect order (1 = perfect ranking, 0 = random, negative = reversed). Ties in the prediction count as
    a random order within the tie (each tied group gets its mean actual value), so a model that predicts 0 for
    most customers is not credited with the luck of how they happen to be sorted. NaN when all actuals are
    equal (nothing to rank)."""
    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    n = len(actual)
    if n < 2 or not np.isfinite(actual).all() or not np.isfinite(predicted).all():
        return float("nan")

    def gini(key: np.ndarray) -> float:
        order = np.argsort(-key, kind="stable")
        k, a = key[order], actual[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        sizes = np.diff(np.r_[starts, n])
        means = np.add.reduceat(a, starts) / sizes
        a = np.repeat(means, sizes)
        total = a.sum()
        if total == 0:
            return float("nan")
        return float(np.cumsum(a).sum() / total / n - (n + 1) / (2 * n))

    best = gini(actual)
    if not np.isfinite(best) or best == 0:
        return float("nan")
    return gini(predicted) / best


def spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Spearman's rank correlation (ties share their mean rank); NaN when either side is constant."""
    if len(actual) < 2 or np.ptp(actual) == 0 or np.ptp(predicted) == 0:
        return float("nan")
    return float(spearmanr(actual, predicted).statistic)


def _rounded(x: float, digits: int = 4) -> float | None:
    """A metric for JSON (PostgreSQL's jsonb refuses NaN): None when undefined."""
    return round(x, digits) if np.isfinite(x) else None


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.mean(np.abs(a - b))), 3)


def evaluate(spec: TargetSpec, model: ServedModel, train: Dataset, valid: Dataset) -> dict[str, Any]:
    """Metrics on the validation rows, with naive baselines so a number can be judged."""
    col = {name: i for i, name in enumerate(FEATURES)}
    recency_or_event = np.where(np.isnan(valid.X[:, col["recency_days"]]),
                                valid.X[:, col["days_since_last_event"]] + 1000, valid.X[:, col["recency_days"]])
    pred = model.predict(valid.X, valid.recency)
    if spec.kind == "classifier":
        y_train = ~train.bought if spec.name == "churn" else train.bought
        y = ~valid.bought if spec.name == "churn" else valid.bought
        naive = recency_or_event if spec.name == "churn" else -recency_or_event
        metrics = classifier_metrics(y, pred, float(y_train.mean()), naive)
        metrics["deciles"] = decile_table(y.astype(float), pred)
        metrics["baseline"] = "brier: training base rate; auc: days since the last order (or event)"
        metrics["selection"] = {"metric": "brier", "score": -metrics["brier"]}
        return metrics
    if spec.kind == "value":
        metrics = {}
        if model.classifier is not None:  # the hurdle's first part, judged on its own
            p_buy = model.classifier.predict_proba(valid.X)[:, 1]
            metrics = {f"buy_{k}": v for k, v in classifier_metrics(
                valid.bought, p_buy, float(train.bought.mean()), -recency_or_event).items() if k != "baseline_auc"}
        bgnbd = valid.X[:, col["bgnbd_value_90d"]]
        scores = {
            "model": pred,
            "mean": np.full(valid.size, train.value.mean()),
            "last_90d": valid.X[:, col["revenue_90d"]],
            # customers without an order are outside BG/NBD: they are expected to spend nothing
            "bgnbd": np.nan_to_num(bgnbd, nan=0.0) if np.isfinite(bgnbd).any() else None,
            "zero": np.zeros(valid.size),
        }
        table = {name: value_metrics(valid.value, score) if score is not None else None
                 for name, score in scores.items()}
        metrics.update(table.pop("model") or {})
        for name, row in table.items():
            for k, v in (row or dict.fromkeys(("mae", "rmse", "normalised_gini", "spearman"))).items():
                metrics[f"baseline_{k}_{name}"] = v
        metrics.update({
            "total_predicted": round(float(pred.sum()), 2),
            "total_observed": round(float(valid.value.sum()), 2),
            "bgnbd_covered_share": round(float(np.isfinite(bgnbd).mean()), 4) if valid.size else None,
            "model_kind": "hurdle: P(order) x E[revenue | order]" if model.value_loss == "hurdle"
            else "gradient boosting, Poisson deviance (log link) on the revenue",
            "deciles": decile_table(valid.value, pred),
            "baseline": "mean: training mean of the 90-day revenue; last_90d: the 90 days before the cutoff "
                        "repeat; bgnbd: BG/NBD expected orders x Gamma-Gamma spend, fitted at the cutoff (0 for "
                        "customers without an order); zero: nobody buys",
        })
        # An expected value is a mean: squared error is the proper score for it (MAE favours the median, which
        # is 0 for most customers, so "predict zero" wins on MAE while saying nothing).
        metrics["selection"] = {"metric": "rmse", "score": -metrics["rmse"]}
        return metrics
    reordered = ~np.isnan(valid.gap)
    gap, rec = valid.gap[reordered], valid.recency[reordered]
    own = valid.X[reordered, col["gap_median"]]
    train_gaps = train.gap[~np.isnan(train.gap)]
    metrics = {
        "mae_days": _mae(pred[reordered], gap),
        "baseline_mae_days_own_median_gap": _mae(np.clip(own, rec, rec + spec.horizon), gap),
        "baseline_mae_days_global_median_gap": _mae(
            np.clip(np.full(len(gap), np.median(train_gaps)), rec, rec + spec.horizon), gap),
        "median_gap_days": round(float(np.median(train_gaps)), 2),
        "n_reordered_validation": int(reordered.sum()),
        "n_reordered_train": len(train_gaps),
        "baseline": "own median gap: the customer's median gap between past orders; global: the median gap of "
                    "training re-orders; both clipped, like the model, to the outcome window",
        "note": f"conditional on an order within {spec.horizon} days of the cutoff",
        "deciles": decile_table(gap, pred[reordered]),
    }
    metrics["selection"] = {"metric": "mae_days", "score": -metrics["mae_days"]}
    return metrics


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.sqrt(np.mean((a - b) ** 2))), 3)


