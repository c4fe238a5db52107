"""Candidate sources: each ranks item indices for a `UserQuery`, best first.

Every source has `name`, `fit(dataset, item_vectors=None)`, `candidates(query, n)`, and for saving
`arrays()` / `params()` / `restore(arrays, params)` (plain numpy arrays and JSON values, no pickles).
Item-item and co-purchase also expose `neighbours(item, n)` so the caller can say "because you viewed X".
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Protocol

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .data import DAY, Dataset
from .queries import Ranked, UserQuery, bm25_item_rows, history_weights, l2_rows, top_k_similarity, top_n


class Source(Protocol):
    name: str

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None: ...

    def candidates(self, query: UserQuery, n: int) -> Ranked: ...

    def arrays(self) -> dict[str, np.ndarray]: ...

    def params(self) -> dict[str, Any]: ...

    def restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None: ...


class Popularity:
    """Global popularity: distinct users per item. The cold-start fallback and the baseline to beat."""

    name: ClassVar[str] = "popularity"

    def __init__(self) -> None:
        self.scores = np.zeros(0, dtype=np.float32)

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None:
        self.scores = np.bincount(dataset.matrix.indices, minlength=dataset.n_items).astype(np.float32)

    def candidates(self, query: UserQuery, n: int) -> Ranked:
        return top_n(self.scores, n, query.exclude)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores}

    def params(self) -> dict[str, Any]:
        return {}

    def restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        self.scores = arrays["scores"]


class Trending(Popularity):
    """Recency-decayed popularity: each row counts 0.5 ** (age / half_life) against the newest row."""

    name: ClassVar[str] = "trending"

    def __init__(self, half_life_days: float = 7.0) -> None:
        super().__init__()
        self.half_life_days = half_life_days

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None:
        age = (dataset.max_time - dataset.row_time) / DAY
        decay = 0.5 ** (age / self.half_life_days)
        self.scores = np.bincount(dataset.row_item, weights=decay, minlength=dataset.n_items).astype(np.float32)

    def params(self) -> dict[str, Any]:
        return {"half_life_days": self.half_life_days}

    def restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        self.scores = arrays["scores"]
        self.half_life_days = float(params.get("half_life_days", self.half_life_days))


class ALS:
    """Matrix factorisation on implicit feedback (implicit's ALS, CPU, BM25-weighted confidences).

    A known user uses their trained factors; an unseen one is folded in from their history with
    implicit's `recalculate_user` (one least-squares solve against the fixed item factors).
    """

    name: ClassVar[str] = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        alpha: float = 1.0,
        seed: int = 42,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.seed = seed
        self.num_threads = num_threads
        self.user_factors = np.zeros((0, factors), dtype=np.float32)
        self.item_factors = np.zeros((0, factors), dtype=np.float32)
        self.length_norm = np.zeros(0, dtype=np.float32)
        self._model: Any = None

    def _new_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares  # heavy: loaded only when ALS is fitted

        with threadpool_limits(1, "blas"):  # implicit warns (once) when BLAS runs its own thread pool
            return AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=self.num_threads,
                calculate_training_loss=False,
            )

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None:
        weighted, self.length_norm = bm25_item_rows(dataset.matrix.T.tocsr())
        model = self._new_model()
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads only contend
            model.fit(weighted.T.tocsr(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._model = model

    def fold_in(self, history: dict[int, float]) -> np.ndarray:
        """Factors for a user the model has not seen, from their item weights."""
        items = np.fromiter(history.keys(), dtype=np.int64)
        values = np.fromiter(history.values(), dtype=np.float64)
        keep = (items < self.item_factors.shape[0]) & (values > 0)
        items, values = items[keep], values[keep]
        if not items.size:
            return np.zeros(self.factors, dtype=np.float32)
        k1 = 100.0
        idf = max(math.log(max(self.item_factors.shape[0], 2)) - math.log1p(items.size), 1e-2)
        data = values * (k1 + 1.0) / (k1 * self.length_norm[items] + values) * idf
        order = np.argsort(items)
        row = sp.csr_matrix(
            (data[order].astype(np.float32), items[order], np.array([0, items.size])),
            shape=(1, self.item_factors.shape[0]),
        )
        if self._model is None:
            self._model = self._new_model()
            self._model.item_factors = self.item_factors
            self._model.user_factors = self.user_factors
        with threadpool_limits(1, "blas"):
            return np.asarray(self._model.recalculate_user(0, row), dtype=np.float32)

    def user_vector(self, query: UserQuery) -> np.ndarray | None:
        if query.user_index is not None and query.user_index < self.user_factors.shape[0]:
            return self.user_factors[query.user_index]
        weights = history_weights(query, None)
        return self.fold_in(weights) if weights else None

    def candidates(self, query: UserQuery, n: int) -> Ranked:
        vector = self.user_vector(query)
        if vector is None or not self.item_factors.size:
            return []
        return top_n(self.item_factors @ vector, n, query.exclude, positive_only=False)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors, "length_norm": self.length_norm}

    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "iterations": self.iterations,
            "alpha": self.alpha,
            "seed": self.seed,
        }

    def restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        for key in ("factors", "iterations", "seed"):
            setattr(self, key, int(params.get(key, getattr(self, key))))
        for key in ("regularization", "alpha"):
            setattr(self, key, float(params.get(key, getattr(self, key))))
        self.user_factors = arrays["user_factors"].astype(np.float32)
        self.item_factors = arrays["item_factors"].astype(np.float32)
        self.length_norm = arrays["length_norm"].astype(np.float32)
        self._model = None


class _NeighbourSource:
    """Scores items by summing a sparse item x item similarity over the user's (recency-weighted) history."""

    name: ClassVar[str] = "neighbours"

    def __init__(self, neighbours: int = 100, half_life_days: float | None = 30.0) -> None:
        self.k = neighbours
        self.half_life_days = half_life_days
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    def neighbours(self, item: int, n: int = 10) -> Ranked:
        """The items most similar to `item` (for "because you viewed X" and "similar products")."""
        if item < 0 or item >= self.similarity.shape[0]:
            return []
        start, end = self.similarity.indptr[item], self.similarity.indptr[item + 1]
        cols, vals = self.similarity.indices[start:end], self.similarity.data[start:end]
        order = np.lexsort((cols, -vals))[:n]
        return [(int(cols[i]), float(vals[i])) for i in order]

    def contributions(self, query: UserQuery, item: int) -> list[tuple[int, float]]:
        """Which history items made `item` score, biggest share first (the explanation)."""
        column = self.similarity[:, item].toarray().ravel() if self.similarity.shape[0] else np.zeros(0)
        weights = history_weights(query, self.half_life_days)
        shares = [(h, w * float(column[h])) for h, w in weights.items() if h < column.size and column[h] > 0]
        return sorted(shares, key=lambda pair: -pair[1])

    def candidates(self, query: UserQuery, n: int) -> Ranked:
        weights = history_weights(query, self.half_life_days)
        items = [i for i in weights if i < self.similarity.shape[0]]
        if not items:
            return []
        w = np.array([weights[i] for i in items], dtype=np.float32)
        scores = np.asarray(self.similarity[items].T @ w).ravel()
        return top_n(scores, n, query.exclude)

    def arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {"indptr": s.indptr, "indices": s.indices, "data": s.data, "shape": np.array(s.shape)}

    def params(self) -> dict[str, Any]:
        return {"neighbours": self.k, "half_life_days": self.half_life_days}

    def restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        shape = tuple(int(x) for x in arrays["shape"])
        self.similarity = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
        self.k = int(params.get("neighbours", self.k))
        half_life = params.get("half_life_days", self.half_life_days)
        self.half_life_days = float(half_life) if half_life else None


class ItemItem(_NeighbourSource):
    """Item-item collaborative filtering: cosine between BM25-weighted item columns, top-k per item."""

    name: ClassVar[str] = "item_item"

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None:
        weighted, _ = bm25_item_rows(dataset.matrix.T.tocsr())
        normed = l2_rows(weighted)
        self.similarity = top_k_similarity(normed, normed, self.k)


class CoPurchase(_NeighbourSource):
    """"Bought together": items sharing a basket (or a user, without baskets), cosine-normalised counts.

    count(i, j) / sqrt(count(i) * count(j)) over baskets, so a best-seller does not pair with everything.
    """

    name: ClassVar[str] = "co_purchase"

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None:
        groups = dataset.row_basket if dataset.row_basket is not None else dataset.row_user.astype(np.int64)
        _, group = np.unique(groups, return_inverse=True)
        basket_item = sp.csr_matrix(
            (np.ones(group.size, dtype=np.float32), (group, dataset.row_item)),
            shape=(int(group.max()) + 1 if group.size else 0, dataset.n_items),
        )
        basket_item.data[:] = 1.0  # presence, however many rows a basket has for the item
        basket_item.sum_duplicates()
        basket_item.data[:] = 1.0
        item_basket = l2_rows(basket_item.T.tocsr())
        self.similarity = top_k_similarity(item_basket, item_basket, self.k)


class Content:
    """Content similarity: cosine between item vectors (e.g. text embeddings) and the user's vector.

    The user vector is the recency- and weight-weighted mean of their history items' vectors.
    """

    name: ClassVar[str] = "content"

    def __init__(self, half_life_days: float | None = 30.0) -> None:
        self.half_life_days = half_life_days
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> None:
        if item_vectors is None:
            self.vectors = np.zeros((dataset.n_items, 0), dtype=np.float32)
            return
        vectors = np.asarray(item_vectors, dtype=np.float32)
        if vectors.shape[0] != dataset.n_items:
            raise ValueError(f"item_vectors has {vectors.shape[0]} rows for {dataset.n_items} items")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.vectors = vectors / norms

    def user_vector(self, query: UserQuery) -> np.ndarray | None:
        weights = history_weights(query, self.half_life_days)
        items = [i for i in weights if i < self.vectors.shape[0]]
        if not items or not self.vectors.shape[1]:
            return None
        w = np.array([weights[i] for i in items], dtype=np.float32)
        vector = w @ self.vectors[items]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def neighbours(self, item: int, n: int = 10) -> Ranked:
        if item < 0 or item >= self.vectors.shape[0] or not self.vectors.shape[1]:
            return []
        return top_n(self.vectors @ self.vectors[item], n, {item})

    def candidates(self, query: UserQuery, n: int) -> Ranked:
        vector = self.user_vector(query)
        if vector is None:
            return []
        return top_n(self.vectors @ vector, n, query.exclude)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"vectors": self.vectors}

    def params(self) -> dict[str, Any]:
        return {"half_life_days": self.half_life_days}

    def restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        self.vectors = arrays["vectors"].astype(np.float32)
        half_life = params.get("half_life_days", self.half_life_days)
        self.half_life_days = float(half_life) if half_life else None


SOURCES: dict[str, type] = {
    cls.name: cls for cls in (Popularity, Trending, ALS, ItemItem, CoPurchase, Content)
}
