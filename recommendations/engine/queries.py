"""What every source builds on: the user's query (history, exclusions), time-decayed history weights,
top-n selection, BM25 weighting and sparse top-k similarity. Pure numpy/scipy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .data import DAY, Dataset

Ranked = list[tuple[int, float]]


@dataclass
class UserQuery:
    """Who to rank for. `user_index` is None for a user the model has not seen (cold start / fold-in).

    `history` is (item index, epoch seconds, weight), most recent first; `exclude` are item indices never
    to return; `now` is the reference time for recency (defaults to the newest history row).
    """

    user_index: int | None = None
    history: list[tuple[int, float, float]] = field(default_factory=list)
    exclude: set[int] = field(default_factory=set)
    now: float | None = None


def query_for(dataset: Dataset, user_id: str, history_limit: int = 200, exclude_seen: bool = True) -> UserQuery:
    """The query for a user of `dataset` (an unknown id gives an empty cold-start query)."""
    user = dataset.user_index.get(str(user_id))
    if user is None:
        return UserQuery()
    return UserQuery(
        user_index=user,
        history=dataset.history(user, history_limit),
        exclude=dataset.seen(user) if exclude_seen else set(),
    )


def history_weights(query: UserQuery, half_life_days: float | None) -> dict[int, float]:
    """Item -> summed row weight, each row decayed by its age (half-life) against `query.now`."""
    if not query.history:
        return {}
    now = query.now if query.now is not None else max(t for _, t, _ in query.history)
    out: dict[int, float] = {}
    for item, time, weight in query.history:
        decay = 0.5 ** (max(now - time, 0.0) / (half_life_days * DAY)) if half_life_days else 1.0
        out[item] = out.get(item, 0.0) + float(weight) * decay
    return out


def top_n(scores: np.ndarray, n: int, exclude: Iterable[int] = (), positive_only: bool = True) -> Ranked:
    """The n best (index, score) of a dense score vector, skipping `exclude` (and scores <= 0 if asked)."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    excluded = np.fromiter(exclude, dtype=np.int64)
    if excluded.size:
        scores[excluded[excluded < scores.size]] = -np.inf
    if positive_only:
        scores[scores <= 0] = -np.inf
    n = min(n, int(np.isfinite(scores).sum()))
    if n <= 0:
        return []
    part = np.argpartition(-scores, n - 1)[:n]
    order = part[np.lexsort((part, -scores[part]))]  # score desc, index asc on ties: deterministic
    return [(int(i), float(scores[i])) for i in order]


def bm25_item_rows(item_user: sp.csr_matrix, k1: float = 100.0, b: float = 0.8) -> tuple[sp.csr_matrix, np.ndarray]:
    """BM25 weighting of an item x user matrix, as implicit's `bm25_weight` (items are the documents).

    Damps heavy users (idf over users) and very popular items (length norm). Returns the weighted
    matrix and the per-item length norm, kept to weight a new user's row the same way at fold-in.
    """
    coo = item_user.tocoo()
    n_items = float(item_user.shape[0])
    # floored: a user who touched (nearly) every item would otherwise weigh nothing (tiny catalogues)
    idf = np.maximum(np.log(n_items) - np.log1p(np.bincount(coo.col, minlength=item_user.shape[1])), 1e-2)
    row_sums = np.ravel(item_user.sum(axis=1))
    length_norm = (1.0 - b) + b * row_sums / max(float(row_sums.mean()), 1e-9)
    data = coo.data * (k1 + 1.0) / (k1 * length_norm[coo.row] + coo.data) * idf[coo.col]
    weighted = sp.csr_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=item_user.shape)
    return weighted, length_norm.astype(np.float32)


def top_k_similarity(left: sp.csr_matrix, right: sp.csr_matrix, k: int, chunk: int = 512) -> sp.csr_matrix:
    """Row-wise top-k of `left @ right.T` (diagonal removed), as a sparse matrix; chunked to bound memory."""
    n = left.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    right_t = right.T.tocsc()
    for start in range(0, n, chunk):
        block = (left[start : start + chunk] @ right_t).toarray()
        for offset in range(block.shape[0]):
            block[offset, start + offset] = 0.0
        kk = min(k, block.shape[1])
        part = np.argpartition(-block, kk - 1, axis=1)[:, :kk]
        values = np.take_along_axis(block, part, axis=1)
        keep = values > 0
        r = np.repeat(np.arange(start, start + block.shape[0]), kk).reshape(block.shape[0], kk)
        rows.append(r[keep])
        cols.append(part[keep])
        vals.append(values[keep])
    if not rows:
        return sp.csr_matrix((n, right.shape[0]), dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, right.shape[0]),
    )


def l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.ravel(matrix.multiply(matrix).sum(axis=1)))
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)
