"""Fusing the sources' candidate lists into one ranking: score fusion on per-user normalised scores, or
weighted reciprocal rank (RRF), and the shrinkage of searched weights towards equal weights.

- `fuse(ranked_lists, weights, k)`: weighted RRF, score(i) = sum_s w_s / (k + rank_s(i)), ranks from 1.
- `score_fuse(scored_lists, weights, normalisation)`: each source's scores are normalised over that user's
  list (`minmax`, `z` or `rank`), then score(i) = sum_s w_s * norm_s(i); an item a source did not list gets
  that source's floor (0 for minmax and rank, the list's lowest z for z).
- `FusionMethod` names one of them ("score:minmax", "rrf:60"), is stored with a trained version and applied
  by `apply` to (item, score) lists, returning the fused ranking and each source's share of every item's
  score (the explanation names the largest share).
- `shrink_weights(searched, n)`: searched weights pulled towards equal weights by the validation sample size.

Measured on nine later windows of the development data (`python -m evaluation.fusion`, docs/architecture.md):
equal weights on rank-normalised scores (a Borda count) won the most windows and had the best mean ratio to
popularity; the coarse weight search on short validation windows did worse, shrunk or not. `DEFAULT_FUSION`
is that winner; it needs only each list's order, so live lists of product ids need no scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Fused = list[tuple[int, float, dict[str, int]]]
Shares = dict[int, dict[str, float]]
NORMALISATIONS = ("minmax", "z", "rank")
_FLAT = 1e-12  # a list whose scores differ by less than this is treated as all-equal


def fuse(ranked_lists: Mapping[str, Sequence[int]], weights: Mapping[str, float] | None = None, k: int = 60) -> Fused:
    """(item, fused score, {source: 1-based rank}) best first; ties broken by item index for determinism.

    A source missing from `weights` counts 1; a weight of 0 leaves the source out (and out of the ranks).
    """
    fused, _ = _rrf(ranked_lists, weights, k)
    return fused


def _rrf(
    ranked_lists: Mapping[str, Sequence[int]], weights: Mapping[str, float] | None, k: float
) -> tuple[Fused, Shares]:
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    shares: Shares = {}
    for source, items in ranked_lists.items():
        weight = 1.0 if weights is None else float(weights.get(source, 1.0))
        if weight <= 0:
            continue
        for rank, item in enumerate(items, start=1):
            if source in ranks.get(item, {}):
                continue  # a repeated item counts once per source, at its best rank
            share = weight / (k + rank)
            scores[item] = scores.get(item, 0.0) + share
            ranks.setdefault(item, {})[source] = rank
            shares.setdefault(item, {})[source] = share
    order = sorted(scores, key=lambda item: (-scores[item], item))
    return [(item, scores[item], ranks[item]) for item in order], shares


def normalise(scores: Sequence[float], method: str = "minmax") -> tuple[list[float], float]:
    """One source's scores for one user on a common scale, and the value an unlisted item gets.

    - minmax: (s - min) / (max - min); one item or all-equal scores give 1.0 (each is the source's best);
      unlisted 0.
    - z: (s - mean) / std; one item or all-equal scores give 0.0 (no spread, no information); unlisted items
      take the list's lowest value (they rank below everything the source listed).
    - rank: 1 - (r - 1) / n with r the 1-based rank by score (ties share the best rank); unlisted 0.
    Non-finite scores are treated as the list's lowest finite score.
    """
    if method not in NORMALISATIONS:
        raise ValueError(f"normalisation {method!r}: expected one of {', '.join(NORMALISATIONS)}")
    values = [float(s) for s in scores]
    if not values:
        return [], 0.0
    finite = [v for v in values if math.isfinite(v)]
    floor = min(finite) if finite else 0.0
    values = [v if math.isfinite(v) else floor for v in values]
    hi, lo = max(values), min(values)
    n = len(values)
    if method == "minmax":
        if hi - lo <= _FLAT:
            return [1.0] * n, 0.0
        return [(v - lo) / (hi - lo) for v in values], 0.0
    if method == "z":
        mean = sum(values) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
        if std <= _FLAT:
            return [0.0] * n, 0.0
        z = [(v - mean) / std for v in values]
        return z, min(z)
    order = sorted(range(n), key=lambda i: -values[i])
    out = [0.0] * n
    rank = 1
    for position, i in enumerate(order):
        if position and values[i] < values[order[position - 1]] - _FLAT:
            rank = position + 1
        out[i] = 1.0 - (rank - 1) / n
    return out, 0.0


def score_fuse(
    scored_lists: Mapping[str, Sequence[tuple[int, float]]],
    weights: Mapping[str, float] | None = None,
    normalisation: str = "minmax",
) -> Fused:
    """(item, fused score, {source: 1-based rank}) best first, from per-user normalised scores (see
    `normalise`); same conventions as `fuse` for weights (missing counts 1, 0 leaves the source out)."""
    fused, _ = _score(scored_lists, weights, normalisation)
    return fused


def _score(
    scored_lists: Mapping[str, Sequence[tuple[int, float]]], weights: Mapping[str, float] | None, normalisation: str
) -> tuple[Fused, Shares]:
    ranks: dict[int, dict[str, int]] = {}
    shares: Shares = {}
    floors: dict[str, float] = {}
    for source, pairs in scored_lists.items():
        weight = 1.0 if weights is None else float(weights.get(source, 1.0))
        if weight <= 0 or not pairs:
            continue
        seen: dict[int, float] = {}
        for item, score in pairs:  # a repeated item counts once per source, at its first (best) position
            seen.setdefault(int(item), float(score))
        items = list(seen)
        normed, floor = normalise(list(seen.values()), normalisation)
        floors[source] = weight * floor
        for rank, (item, value) in enumerate(zip(items, normed, strict=True), start=1):
            ranks.setdefault(item, {})[source] = rank
            shares.setdefault(item, {})[source] = weight * value
    scores: dict[int, float] = {}
    for item, per in shares.items():
        scores[item] = sum(per.get(source, floor) for source, floor in floors.items())
    order = sorted(scores, key=lambda item: (-scores[item], item))
    return [(item, scores[item], ranks[item]) for item in order], shares


@dataclass(frozen=True)
class FusionMethod:
    """How a version fuses its sources: `kind` "score" (with a `normalisation`) or "rrf" (with `k`)."""

    kind: str = "score"
    normalisation: str = "minmax"
    k: float = 60.0

    def __post_init__(self) -> None:
        if self.kind not in ("score", "rrf"):
            raise ValueError(f"fusion {self.kind!r}: expected 'score' or 'rrf'")
        if self.kind == "score" and self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation {self.normalisation!r}: expected one of {', '.join(NORMALISATIONS)}")
        if self.kind == "rrf" and not self.k > 0:
            raise ValueError(f"rrf k must be positive, got {self.k}")

    @property
    def label(self) -> str:
        return f"score:{self.normalisation}" if self.kind == "score" else f"rrf:{self.k:g}"

    @classmethod
    def parse(cls, label: str | None) -> FusionMethod:
        """From a stored label; a version saved before fusion was stored (no label) used RRF with k=60."""
        if not label:
            return RRF_60
        kind, _, arg = label.partition(":")
        if kind == "rrf":
            return cls("rrf", k=float(arg or 60))
        return cls("score", normalisation=arg or "minmax")

    def apply(
        self, scored_lists: Mapping[str, Sequence[tuple[int, float]]], weights: Mapping[str, float] | None = None
    ) -> tuple[Fused, Shares]:
        """The fused ranking and, per item, each source's share of its score (largest share = the reason)."""
        if self.kind == "rrf":
            return _rrf({s: [item for item, _ in pairs] for s, pairs in scored_lists.items()}, weights, self.k)
        return _score(scored_lists, weights, self.normalisation)


RRF_60 = FusionMethod("rrf", k=60.0)
DEFAULT_FUSION = FusionMethod("score", "rank")

# Shrinkage of searched weights: with n validation users the searched weights count n / (n + SHRINK_USERS);
# below MIN_SEARCH_USERS the search is not trusted at all.
SHRINK_USERS = 200
MIN_SEARCH_USERS = 30


def shrink_weights(
    searched: Mapping[str, float],
    validation_users: int,
    equal: float = 1.0,
    prior_users: float = SHRINK_USERS,
    min_users: int = MIN_SEARCH_USERS,
) -> dict[str, float]:
    """Searched weights averaged with equal weights by the validation sample size: equal weights exactly when
    fewer than `min_users` validated the search, the searched ones only as the sample grows large."""
    if validation_users < min_users:
        return {name: equal for name in searched}
    trust = validation_users / (validation_users + prior_users)
    return {name: equal + trust * (float(w) - equal) for name, w in searched.items()}
