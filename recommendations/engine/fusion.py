"""Weighted reciprocal-rank fusion: score(i) = sum_s w_s / (k + rank_s(i)), ranks from 1.

Rank-based on purpose: the sources' scores live on unrelated scales (counts, dot products, cosines),
and ranks need no calibration, so a few coarse weights stay robust on small validation windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Fused = list[tuple[int, float, dict[str, int]]]


def fuse(ranked_lists: Mapping[str, Sequence[int]], weights: Mapping[str, float] | None = None, k: int = 60) -> Fused:
    """(item, fused score, {source: 1-based rank}) best first; ties broken by item index for determinism.

    A source missing from `weights` counts 1; a weight of 0 leaves the source out (and out of the ranks).
    """
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for source, items in ranked_lists.items():
        weight = 1.0 if weights is None else float(weights.get(source, 1.0))
        if weight <= 0:
            continue
        for rank, item in enumerate(items, start=1):
            if source in ranks.get(item, {}):
                continue  # a repeated item counts once per source, at its best rank
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            ranks.setdefault(item, {})[source] = rank
    order = sorted(scores, key=lambda item: (-scores[item], item))
    return [(item, scores[item], ranks[item]) for item in order]
