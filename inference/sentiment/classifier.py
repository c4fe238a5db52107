"""What every sentiment classifier shares: the labels, the text a review is read as, a prediction, the
interface, and the scores a classifier is judged by."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..batching import clean_text
from ..progress import OnBatch

LABELS = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = LABELS
MAX_CHARS = 4_000  # characters kept per text before tokenising: far beyond 128 word pieces, bounds the work


def rating_to_label(rating: object) -> str | None:
    """1-2 stars negative, 3 neutral, 4-5 positive; anything else (None, 0, 7, "abc") is no label."""
    try:
        value = float(str(rating).strip())
    except (TypeError, ValueError):
        return None
    if not value.is_integer() or not 1 <= value <= 5:
        return None
    return NEGATIVE if value <= 2 else NEUTRAL if value == 3 else POSITIVE


def review_text(title: object, text: object) -> str:
    """The text a review is classified on: its title, then its body. Titles ("Runs small", "Love it!")
    carry much of the sentiment, so training and scoring must join them the same way."""
    head, body = clean_text(title), clean_text(text)
    if head and body:
        return f"{head}{'' if head[-1] in '.!?。！？' else '.'} {body}"
    return head or body


_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]{0,500}|!--[^<>]{0,500}--)>")  # tags and comments, not "a < b"


def prepare_text(text: object) -> str:
    """What the model reads: normalised text without HTML tags or entities, bounded in length."""
    value = clean_text(text, max_chars=MAX_CHARS * 2)
    if "<" in value or "&" in value:
        value = " ".join(html.unescape(_TAG.sub(" ", value)).split())
    return value[:MAX_CHARS]


@dataclass(frozen=True)
class SentimentPrediction:
    label: str
    score: float  # probability of `label`, 0-1
    probs: dict[str, float]

    @property
    def polarity(self) -> float:
        """P(positive) - P(negative): a signed strength, -1 to 1, that sorts reviews by sentiment."""
        return self.probs.get(POSITIVE, 0.0) - self.probs.get(NEGATIVE, 0.0)

    @classmethod
    def from_probs(cls, probs: Mapping[str, float]) -> SentimentPrediction:
        clean = {label: float(probs.get(label, 0.0)) for label in LABELS}
        label = max(LABELS, key=lambda name: clean[name])
        return cls(label, clean[label], clean)


# Nothing to read: neutral, and no more confident than a coin with three sides.
EMPTY_PREDICTION = SentimentPrediction(NEUTRAL, 1 / 3, {label: 1 / 3 for label in LABELS})


@runtime_checkable
class SentimentClassifier(Protocol):
    """What the rest of the platform uses: a version to record with outputs, and batched prediction."""

    version: str

    def predict(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[SentimentPrediction]:
        """One prediction per text, in input order; `on_batch(n)` after each batch of n texts."""
        ...



def split_empty(texts: Sequence[object]) -> tuple[list[str], list[int]]:
    """The prepared texts, and the indices of those with anything left to read."""
    prepared = [prepare_text(text) for text in texts]
    return prepared, [i for i, text in enumerate(prepared) if text]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


# --- Metrics -------------------------------------------------------------------------------------------

def macro_f1(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> tuple[float, dict[str, float]]:
    """Macro-F1 over `labels` (a label never right scores 0), and the F1 of each label."""
    scores = {}
    for label in labels:
        tp = sum(1 for t, p in zip(true, pred, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(true, pred, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(true, pred, strict=True) if t == label and p != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return (sum(scores.values()) / len(scores) if scores else 0.0), scores


def binary_label(prediction: SentimentPrediction) -> str:
    """Positive or negative only: the larger of P(positive) and P(negative), ignoring neutral."""
    return POSITIVE if prediction.probs.get(POSITIVE, 0) >= prediction.probs.get(NEGATIVE, 0) else NEGATIVE


def sentiment_metrics(true: Sequence[str], predictions: Sequence[SentimentPrediction]) -> dict[str, Any]:
    """3-class macro-F1 and accuracy over all rows (macro over the classes the truth contains), and
    binary macro-F1 and accuracy over the non-neutral rows with the decision P(pos) vs P(neg)."""
    if len(true) != len(predictions):
        raise ValueError(f"{len(true)} labels but {len(predictions)} predictions")
    pred = [p.label for p in predictions]
    present = [label for label in LABELS if label in set(true)]
    macro, per_class = macro_f1(true, pred, present)
    rows = [i for i, label in enumerate(true) if label != NEUTRAL]
    btrue = [true[i] for i in rows]
    bpred = [binary_label(predictions[i]) for i in rows]
    bmacro, _ = macro_f1(btrue, bpred, [NEGATIVE, POSITIVE]) if rows else (0.0, {})
    return {
        "macro_f1": round(macro, 4),
        "accuracy": round(sum(t == p for t, p in zip(true, pred, strict=True)) / max(1, len(true)), 4),
        "f1_per_class": {label: round(score, 4) for label, score in per_class.items()},
        "binary_macro_f1": round(bmacro, 4),
        "binary_accuracy": round(sum(t == p for t, p in zip(btrue, bpred, strict=True)) / max(1, len(rows)), 4),
        "n": len(true),
        "n_binary": len(rows),
    }

