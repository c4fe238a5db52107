"""Maximal marginal relevance: keep the top-k relevant without letting it become ten near-duplicates.

Fusion ranks by relevance alone, so a customer who viewed one mug gets ten mugs. MMR picks greedily the item
maximising `lambda * relevance - (1 - lambda) * max similarity to what is already picked`, on the products'
text embeddings. Relevance is divided by the best score first, so it is on the scale of cosine similarity
(the ranker passes rank-based relevance over the head of its list).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_LAMBDA = 0.7


def mmr(
    scores: Sequence[float] | np.ndarray,
    vectors: np.ndarray | None,
    k: int,
    *,
    lambda_: float = DEFAULT_LAMBDA,
) -> list[int]:
    """Positions (into `scores`) of the k items chosen, in the order chosen.

    `vectors` holds one unit-length row per item (a zero row for an item without an embedding: it is then
    never "similar" to anything and competes on relevance alone). `lambda_=1` is plain relevance order.
    """
    relevance = np.asarray(scores, dtype=np.float64)
    n = len(relevance)
    k = min(k, n)
    if k <= 0:
        return []
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be between 0 and 1, got {lambda_}")
    top = float(relevance.max())
    scaled = relevance / top if top > 0 else np.ones(n)
    if vectors is None or lambda_ >= 1.0 or n == 1:
        return [int(i) for i in np.argsort(-relevance, kind="stable")[:k]]
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.shape[0] != n:
        raise ValueError(f"{n} scores but {matrix.shape[0]} vectors")
    similarity = matrix @ matrix.T  # n is a few hundred candidates at most: n x n is small
    chosen: list[int] = []
    max_similarity = np.zeros(n, dtype=np.float64)
    available = np.ones(n, dtype=bool)
    for _ in range(k):
        objective = lambda_ * scaled - (1.0 - lambda_) * max_similarity
        objective[~available] = -np.inf
        best = int(np.argmax(objective))
        chosen.append(best)
        available[best] = False
        np.maximum(max_similarity, similarity[best], out=max_similarity)
    return chosen


def intra_list_similarity(vectors: np.ndarray) -> float:
    """Mean pairwise cosine similarity of a list (lower is more diverse); 0 for fewer than two items."""
    n = len(vectors)
    if n < 2:
        return 0.0
    matrix = np.asarray(vectors, dtype=np.float64)
    sims = matrix @ matrix.T
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))
