"""Top-k ranking metrics with binary relevance (an item is relevant when it is in the user's test set)."""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence


def recall_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Share of the relevant items found in the top k (0 when nothing is relevant)."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def hit_rate_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """1 when at least one relevant item is in the top k."""
    return 1.0 if set(ranked[:k]) & set(relevant) else 0.0


def ndcg_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """DCG of the top k (gain 1 at rank r worth 1/log2(r+1)) over the best possible DCG."""
    if not relevant:
        return 0.0
    wanted = set(relevant)
    dcg = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in wanted)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(wanted))))
    return dcg / ideal


def catalog_coverage(recommendations: Iterable[Sequence[Hashable]], catalog_size: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top k."""
    if catalog_size <= 0:
        return 0.0
    shown: set[Hashable] = set()
    for ranked in recommendations:
        shown.update(ranked[:k])
    return len(shown) / catalog_size


def evaluate(
    rankings: Mapping[str, Sequence[Hashable]], targets: Mapping[str, Collection[Hashable]], k: int, catalog_size: int
) -> dict[str, float]:
    """Mean Recall/NDCG/HitRate@k over the users in `targets` (a missing ranking counts as empty) + coverage."""
    users = [u for u in targets if targets[u]]
    n = max(len(users), 1)
    lists = [list(rankings.get(u, []))[:k] for u in users]
    return {
        f"recall@{k}": sum(recall_at_k(r, targets[u], k) for r, u in zip(lists, users, strict=True)) / n,
        f"ndcg@{k}": sum(ndcg_at_k(r, targets[u], k) for r, u in zip(lists, users, strict=True)) / n,
        f"hit_rate@{k}": sum(hit_rate_at_k(r, targets[u], k) for r, u in zip(lists, users, strict=True)) / n,
        "coverage": catalog_coverage(lists, catalog_size, k),
        "users": float(len(users)),
    }
