"""Train/test splits for offline evaluation and weight tuning (never the test window for tuning).

A `Split` is a training Dataset plus, per user present in it, the ids of the items they interacted with
after the split and never before (the test items). Items new after the split stay in the targets (they
count against recall: a recommender that cannot know them should not look better than it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import DAY, Dataset


@dataclass
class Split:
    train: Dataset
    targets: dict[str, set[str]]
    label: str = ""


def _targets(
    dataset: Dataset, train_mask: np.ndarray, test_mask: np.ndarray, next_items: int | None = None
) -> dict[str, set[str]]:
    """Test items per user with rows on both sides: items after the split, minus the ones before it (only the
    first `next_items` such items by time when given)."""
    before: dict[int, set[int]] = {}
    for u, i in zip(dataset.row_user[train_mask].tolist(), dataset.row_item[train_mask].tolist(), strict=True):
        before.setdefault(u, set()).add(i)
    after: dict[int, set[int]] = {}
    rows = np.flatnonzero(test_mask)
    rows = rows[np.argsort(dataset.row_time[rows], kind="stable")]
    for u, i in zip(dataset.row_user[rows].tolist(), dataset.row_item[rows].tolist(), strict=True):
        if u in before and i not in before[u]:
            items = after.setdefault(u, set())
            if next_items is None or len(items) < next_items:
                items.add(i)
    return {dataset.users[u]: {dataset.items[i] for i in items} for u, items in after.items()}


def cutoff_split(
    dataset: Dataset, cutoff: float, end: float | None = None, label: str = "", next_items: int | None = None
) -> Split:
    """Train on rows before `cutoff` (epoch seconds), test on rows in [cutoff, end) (each user's first
    `next_items` new items there, when given: a MovieLens user rating 500 films in a day is one user)."""
    train_mask = dataset.row_time < cutoff
    test_mask = ~train_mask if end is None else (~train_mask & (dataset.row_time < end))
    return Split(dataset.subset(train_mask), _targets(dataset, train_mask, test_mask, next_items), label)


def holdout_masks(dataset: Dataset, fraction: float) -> np.ndarray:
    """True for each user's last `fraction` of rows by time (at least one row when they have two or more)."""
    test = np.zeros(dataset.row_user.size, dtype=bool)
    order = np.lexsort((np.arange(dataset.row_user.size), dataset.row_time, dataset.row_user))
    users = dataset.row_user[order]
    bounds = np.searchsorted(users, np.arange(dataset.n_users + 1))
    for u in range(dataset.n_users):
        a, b = int(bounds[u]), int(bounds[u + 1])
        n = b - a
        if n < 2:
            continue
        held = min(max(round(n * fraction), 1), n - 1)
        test[order[b - held : b]] = True
    return test


def holdout_split(dataset: Dataset, fraction: float, label: str = "") -> Split:
    """Per-user time split: each user's last `fraction` of rows are the test (MovieLens has no global cutoff)."""
    test_mask = holdout_masks(dataset, fraction)
    return Split(dataset.subset(~test_mask), _targets(dataset, ~test_mask, test_mask), label)


def limit_users(split: Split, max_users: int, seed: int = 0) -> Split:
    """The same split evaluated on at most `max_users` users (a seeded sample): tuning on a big shop needs a
    few thousand users per window, not all of them, to tell coarse weights apart."""
    if len(split.targets) <= max_users:
        return split
    rng = np.random.default_rng(seed)
    users = sorted(split.targets)
    chosen = rng.choice(len(users), max_users, replace=False)
    return Split(split.train, {users[i]: split.targets[users[i]] for i in sorted(chosen)}, split.label)


def cutoff_windows(train: Dataset, horizon_days: float, windows: int = 3, next_items: int | None = None) -> list[Split]:
    """Validation splits inside `train`: consecutive windows ending at its last row, newest first.

    Each window is min(horizon, span / (windows + 1)) long so the oldest still has training rows before it.
    """
    if not train.row_time.size:
        return []
    start, end = float(train.row_time.min()), float(train.row_time.max()) + 1.0
    length = min(horizon_days * DAY, (end - start) / (windows + 1))
    out = []
    for w in range(windows):
        stop = end - w * length
        split = cutoff_split(train, stop - length, stop, label=f"window {w + 1}", next_items=next_items)
        if split.targets:
            out.append(split)
    return out


def holdout_windows(train: Dataset, fraction: float, windows: int = 2) -> list[Split]:
    """Validation splits inside `train` for the per-user protocol: the last `fraction` of each user's rows,
    then the `fraction` before those (with the newest part removed), and so on."""
    out = []
    current = train
    for w in range(windows):
        split = holdout_split(current, fraction, label=f"window {w + 1}")
        if split.targets:
            out.append(split)
        current = split.train
    return out
