"""The rating as an ordered target: one score per review, cutpoints between the star levels, and the
two thresholds that turn the score into negative / neutral / positive.

A cumulative-link model: P(stars > k | x) = sigmoid(s(x) - cut_k) with cut_1 < cut_2 < ... (one
shared score, ordered cutpoints), so the cumulative probabilities are monotone by construction and a
1-star review is never "between" a 4 and a 5. The 3-class decision uses two thresholds on the score,
chosen on validation for macro-F1 (neutral is rare and lies between the others: a threshold pair
finds it where an argmax over a skewed prior does not); the class probabilities use the same
thresholds as their cutpoints, so label, probabilities and polarity agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .classifier import LABELS, NEGATIVE, NEUTRAL, POSITIVE, SentimentPrediction

STAR_CLASSES = (NEGATIVE, NEGATIVE, NEUTRAL, POSITIVE, POSITIVE)  # the class of 1..5 stars
THRESHOLD_CANDIDATES = 80  # score quantiles tried as thresholds: finer only fits validation noise


def check_ratings(ratings: Sequence[object]) -> list[int]:
    """Star ratings as ints 1-5; anything else is an error naming the row and value."""
    stars = []
    for row, rating in enumerate(ratings):
        try:
            value = float(str(rating).strip())
        except (TypeError, ValueError):
            value = float("nan")
        if not value.is_integer() or not 1 <= value <= 5:
            raise ValueError(f"row {row}: rating {rating!r} is not a whole number of stars from 1 to 5")
        stars.append(int(value))
    return stars


def ordinal_levels(labels: Sequence[str], ratings: Sequence[int] | None) -> tuple[list[int], list[str]]:
    """(level per row, class of each level): stars 1-5 when ratings are given, else the labels in
    order (negative < neutral < positive; binary data has no neutral level)."""
    if ratings is not None:
        for row, (stars, label) in enumerate(zip(ratings, labels, strict=True)):
            if STAR_CLASSES[stars - 1] != label:
                raise ValueError(f"row {row}: {stars} stars but label {label!r}")
        return [stars - 1 for stars in ratings], list(STAR_CLASSES)
    classes = [label for label in LABELS if label in set(labels)]
    if len(classes) < 2:
        raise ValueError(f"an ordinal target needs at least two classes; the labels hold only {classes}")
    return [classes.index(label) for label in labels], classes


def boundary_cutpoints(cutpoints: Sequence[float], level_classes: Sequence[str]) -> tuple[float, float]:
    """The learned cutpoints where the class changes: (negative|neutral, neutral|positive); one and the
    same cutpoint when there is no neutral level."""
    below_neutral = sum(1 for c in level_classes if c == NEGATIVE) - 1
    below_positive = sum(1 for c in level_classes if c != POSITIVE) - 1
    return float(cutpoints[below_neutral]), float(cutpoints[below_positive])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # exact, and no overflow warning for large |x|


def class_probs(scores: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """(n, 3) probabilities in LABELS order: P(neg) = 1 - sigmoid(s - t1), P(pos) = sigmoid(s - t2),
    neutral the rest (zero when t1 == t2). Rows sum to 1 and are never negative."""
    t1, t2 = float(thresholds[0]), float(thresholds[1])
    if t1 > t2:
        raise ValueError(f"thresholds must be ordered; got {t1} > {t2}")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    above_t1, above_t2 = sigmoid(s - t1), sigmoid(s - t2)
    neutral = np.clip(above_t1 - above_t2, 0.0, 1.0)
    return np.stack([1.0 - above_t1, neutral, above_t2], axis=1)


def decide(scores: np.ndarray, thresholds: Sequence[float]) -> list[str]:
    """Negative below t1, positive from t2, neutral between."""
    t1, t2 = float(thresholds[0]), float(thresholds[1])
    return [NEGATIVE if s < t1 else POSITIVE if s >= t2 else NEUTRAL for s in np.asarray(scores).reshape(-1)]


def predictions(scores: np.ndarray, thresholds: Sequence[float]) -> list[SentimentPrediction]:
    """Labels from the thresholds, probabilities with the thresholds as cutpoints; the score of a
    prediction is the probability of its label."""
    probs = class_probs(scores, thresholds)
    out = []
    for label, row in zip(decide(scores, thresholds), probs, strict=True):
        clean = {name: float(p) for name, p in zip(LABELS, row, strict=True)}
        out.append(SentimentPrediction(label, clean[label], clean))
    return out


def _macro_f1(true: np.ndarray, pred: np.ndarray, classes: Sequence[int]) -> float:
    scores = []
    for c in classes:
        tp = np.sum((true == c) & (pred == c))
        wrong = np.sum((true != c) & (pred == c)) + np.sum((true == c) & (pred != c))
        scores.append(2 * tp / (2 * tp + wrong) if tp else 0.0)
    return float(np.mean(scores))


def choose_thresholds(
    scores: np.ndarray, labels: Sequence[str], fallback: tuple[float, float]
) -> tuple[tuple[float, float], float]:
    """((t1, t2), macro-F1): the ordered pair of score thresholds with the best 3-class macro-F1 on
    these (validation) rows, or, without neutral rows, the single threshold (t1 == t2) with the best
    binary macro-F1. Candidates are score quantiles plus the learned boundary cutpoints (`fallback`,
    kept when nothing beats them or there are no rows)."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not len(s):
        return fallback, 0.0
    true = np.array([LABELS.index(label) for label in labels])
    quantiles = np.quantile(s, np.linspace(0, 1, THRESHOLD_CANDIDATES + 1)[1:-1])
    candidates = np.unique(np.concatenate([quantiles, np.asarray(fallback, dtype=np.float64)]))
    present = sorted(set(true.tolist()))

    def score(t1: float, t2: float) -> float:
        pred = np.where(s < t1, 0, np.where(s >= t2, 2, 1))
        return _macro_f1(true, pred, present)

    best, best_f1 = fallback, score(*fallback)
    if LABELS.index(NEUTRAL) not in present:
        for t in candidates:
            f1 = score(t, t)
            if f1 > best_f1:
                best, best_f1 = (float(t), float(t)), f1
        return best, best_f1
    for i, t1 in enumerate(candidates):
        for t2 in candidates[i:]:
            f1 = score(t1, t2)
            if f1 > best_f1:
                best, best_f1 = (float(t1), float(t2)), f1
    return best, best_f1
