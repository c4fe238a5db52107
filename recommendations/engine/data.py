"""Interactions as the engine sees them: integer-indexed users and items, a CSR matrix, per-row arrays.

Ids are strings everywhere (a CSV's customer id `17850` and the database's `"17850"` must meet). The
per-row arrays are kept so a time split can cut a `Dataset` into a training part without the caller
re-reading anything; `subset()` re-indexes so the part only knows the users and items it has seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

DAY = 86400.0


def to_epoch_seconds(times: Any) -> np.ndarray:
    """Epoch seconds (float64) from datetime64 values, numbers, or ISO strings."""
    array = np.asarray(times)
    if array.size == 0:
        return np.zeros(0, dtype=np.float64)
    if np.issubdtype(array.dtype, np.datetime64):
        return array.astype("datetime64[ms]").astype(np.int64).astype(np.float64) / 1000.0
    if np.issubdtype(array.dtype, np.number):
        return array.astype(np.float64)
    return np.asarray(array, dtype="datetime64[ms]").astype(np.int64).astype(np.float64) / 1000.0


@dataclass
class Dataset:
    """User x item interactions. `matrix[u, i]` is the summed weight of user u's rows on item i."""

    users: list[str]
    items: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]
    matrix: sp.csr_matrix
    last_time: np.ndarray  # per user, epoch seconds of their latest row
    row_user: np.ndarray  # per row, user index (int32)
    row_item: np.ndarray  # per row, item index (int32)
    row_time: np.ndarray  # per row, epoch seconds (float64)
    row_weight: np.ndarray  # per row, weight (float32)
    row_basket: np.ndarray | None = None  # per row, basket code (int64) or None when there are no baskets
    _histories: dict[int, list[tuple[int, float, float]]] = field(default_factory=dict, repr=False)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def max_time(self) -> float:
        return float(self.row_time.max()) if self.row_time.size else 0.0

    def history(self, user: int, limit: int | None = None) -> list[tuple[int, float, float]]:
        """The user's rows as (item, time, weight), most recent first (one entry per row)."""
        if not self._histories:
            order = np.lexsort((-self.row_time, self.row_user))
            users = self.row_user[order]
            bounds = np.searchsorted(users, np.arange(self.n_users + 1))
            items, times, weights = self.row_item[order], self.row_time[order], self.row_weight[order]
            for u in range(self.n_users):
                a, b = bounds[u], bounds[u + 1]
                self._histories[u] = list(
                    zip(items[a:b].tolist(), times[a:b].tolist(), weights[a:b].tolist(), strict=True)
                )
        rows = self._histories.get(user, [])
        return rows[:limit] if limit else rows

    def seen(self, user: int) -> set[int]:
        start, end = self.matrix.indptr[user], self.matrix.indptr[user + 1]
        return set(self.matrix.indices[start:end].tolist())

    def subset(self, mask: np.ndarray) -> Dataset:
        """The rows where `mask` is true, as a new Dataset with its own (smaller) user and item indices."""
        baskets = self.row_basket[mask] if self.row_basket is not None else None
        return build_dataset(
            np.asarray(self.users, dtype=object)[self.row_user[mask]],
            np.asarray(self.items, dtype=object)[self.row_item[mask]],
            self.row_time[mask],
            self.row_weight[mask],
            baskets,
        )

    def align_item_vectors(self, vectors: np.ndarray, items: Sequence[str]) -> np.ndarray:
        """Rows of `vectors` (aligned with `items`) reordered to this dataset's items; zeros where missing."""
        position = {item: i for i, item in enumerate(items)}
        out = np.zeros((self.n_items, vectors.shape[1]), dtype=np.float32)
        for i, item in enumerate(self.items):
            j = position.get(item)
            if j is not None:
                out[i] = vectors[j]
        return out


def build_dataset(
    user_ids: Sequence[Any] | np.ndarray,
    item_ids: Sequence[Any] | np.ndarray,
    times: Any,
    weights: Sequence[float] | np.ndarray | None = None,
    baskets: Sequence[Any] | np.ndarray | None = None,
) -> Dataset:
    """A Dataset from parallel arrays (ids become strings; times are datetime64, epoch seconds or ISO).

    Users and items are indexed in order of first appearance, so the same rows give the same indices.
    """
    n = len(user_ids)
    if len(item_ids) != n:
        raise ValueError(f"user_ids has {n} rows but item_ids has {len(item_ids)}")
    seconds = to_epoch_seconds(times)
    if seconds.shape[0] != n:
        raise ValueError(f"user_ids has {n} rows but times has {seconds.shape[0]}")
    weight = np.ones(n, dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    if weight.shape[0] != n:
        raise ValueError(f"user_ids has {n} rows but weights has {weight.shape[0]}")
    user_index: dict[str, int] = {}
    item_index: dict[str, int] = {}
    row_user = np.fromiter((user_index.setdefault(str(u), len(user_index)) for u in user_ids), np.int32, n)
    row_item = np.fromiter((item_index.setdefault(str(i), len(item_index)) for i in item_ids), np.int32, n)
    row_basket: np.ndarray | None = None
    if baskets is not None:
        if len(baskets) != n:
            raise ValueError(f"user_ids has {n} rows but baskets has {len(baskets)}")
        codes: dict[str, int] = {}
        row_basket = np.fromiter((codes.setdefault(str(b), len(codes)) for b in baskets), np.int64, n)
    matrix = sp.csr_matrix(
        (weight.astype(np.float32), (row_user, row_item)), shape=(len(user_index), len(item_index)), dtype=np.float32
    )
    matrix.sum_duplicates()
    last_time = np.full(len(user_index), -np.inf)
    np.maximum.at(last_time, row_user, seconds)
    return Dataset(
        users=list(user_index),
        items=list(item_index),
        user_index=user_index,
        item_index=item_index,
        matrix=matrix,
        last_time=last_time,
        row_user=row_user,
        row_item=row_item,
        row_time=seconds,
        row_weight=weight,
        row_basket=row_basket,
    )
