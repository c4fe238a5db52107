"""The sentiment classifier that needs no training: nearest labelled example sentences in embedding space."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from ..progress import OnBatch
from .classifier import EMPTY_PREDICTION, LABELS, SentimentPrediction, softmax, split_empty
from .prototype_examples import PROTOTYPES, PROTOTYPES_VERSION


class EmbedderLike(Protocol):
    version: str

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, on_batch: OnBatch | None = None
    ) -> np.ndarray: ...


class PrototypeSentiment:
    """Nearest labelled examples in embedding space: the fallback before a shop has rated reviews.

    A text's score for a class is the mean cosine similarity of its `top_k` most similar prototypes
    of that class (robust to a single odd neighbour); probabilities are a softmax over those scores
    at `temperature` (chosen for calibration on rated reviews, so confidences are usable).
    """

    def __init__(
        self,
        embedder: EmbedderLike,
        prototypes: Mapping[str, Sequence[str]] | None = None,
        *,
        top_k: int = 3,
        temperature: float = 0.05,
    ) -> None:
        self.embedder = embedder
        examples = prototypes or PROTOTYPES
        self.top_k, self.temperature = top_k, temperature
        self.vectors = {label: embedder.encode(list(examples[label])) for label in LABELS}
        self.version = f"prototypes-{PROTOTYPES_VERSION if prototypes is None else 'custom'}/{embedder.version}"

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(n, 3) class scores: mean of the top-k cosine similarities to each class's prototypes."""
        columns = []
        for label in LABELS:
            sims = vectors @ self.vectors[label].T
            k = min(self.top_k, sims.shape[1])
            columns.append(np.sort(sims, axis=1)[:, -k:].mean(axis=1))
        return np.stack(columns, axis=1)

    def predict(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[SentimentPrediction]:
        prepared, rows = split_empty(texts)
        results = [EMPTY_PREDICTION] * len(prepared)
        if len(rows) < len(prepared) and on_batch is not None:
            on_batch(len(prepared) - len(rows))
        if rows:
            vectors = self.embedder.encode([prepared[i] for i in rows], on_batch=on_batch)
            probs = softmax(self.scores(vectors) / self.temperature)
            for i, row in zip(rows, probs, strict=True):
                results[i] = SentimentPrediction.from_probs(dict(zip(LABELS, row.tolist(), strict=True)))
        return results

