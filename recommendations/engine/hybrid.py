"""The hybrid recommender: several candidate sources fused by a `FusionMethod` (see `fusion.py`).

`fit` trains every source on one Dataset; `recommend` fuses their scored lists; `save`/`load` write a
folder of `arrays.npz` (numpy only, `allow_pickle=False`) and `model.json` (ids, weights, fusion,
parameters; a file without `fusion` was saved when every version used RRF with k=60, and loads as such).
`tune_weights` picks the fusion weights from a coarse grid on validation windows cut from the training
data only, and keeps the starting weights unless a change helps on average and on most windows; on the
development data's later windows it overfitted short windows (`python -m evaluation.fusion`), so the product
keeps equal weights and uses the search only through `fusion.shrink_weights`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import sources as src
from .data import Dataset
from .fusion import DEFAULT_FUSION, RRF_60, Fused, FusionMethod
from .metrics import evaluate
from .queries import Ranked, UserQuery, query_for
from .splits import Split

FORMAT = 1
COARSE_GRID = (0.0, 0.5, 1.0, 2.0)
# The starting point of the coarse search before equal weights won (kept: the evaluation reports it as "current")
SEARCH_START_WEIGHTS = {
    "popularity": 0.5,
    "trending": 0.5,
    "als": 1.0,
    "item_item": 1.0,
    "co_purchase": 1.0,
    "content": 0.5,
}
DEFAULT_WEIGHTS = {name: 1.0 for name in SEARCH_START_WEIGHTS}  # equal weights on normalised scores


def default_sources(with_content: bool = True, seed: int = 42) -> list[Any]:
    """One of each source with the defaults the evaluation uses."""
    out: list[Any] = [src.Popularity(), src.Trending(), src.ALS(seed=seed), src.ItemItem(), src.CoPurchase()]
    if with_content:
        out.append(src.Content())
    return out


class HybridRecommender:
    def __init__(
        self,
        sources: Sequence[Any] | None = None,
        weights: dict[str, float] | None = None,
        rrf_k: int = 60,
        depth: int = 100,
        fusion: FusionMethod = DEFAULT_FUSION,
    ) -> None:
        self.sources: dict[str, Any] = {s.name: s for s in (sources if sources is not None else default_sources())}
        self.weights = {name: DEFAULT_WEIGHTS.get(name, 1.0) for name in self.sources}
        self.weights.update(weights or {})
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.depth = depth  # how many candidates each source contributes to the fusion
        self.users: list[str] = []
        self.items: list[str] = []
        self.user_index: dict[str, int] = {}
        self.item_index: dict[str, int] = {}
        self.fit_seconds: dict[str, float] = {}

    def fit(self, dataset: Dataset, item_vectors: np.ndarray | None = None) -> HybridRecommender:
        """Fit every source; the content source is dropped when there are no item vectors."""
        if item_vectors is None:
            self.sources.pop("content", None)
            self.weights.pop("content", None)
        self.users, self.items = list(dataset.users), list(dataset.items)
        self.user_index, self.item_index = dict(dataset.user_index), dict(dataset.item_index)
        for name, source in self.sources.items():
            started = time.perf_counter()
            source.fit(dataset, item_vectors)
            self.fit_seconds[name] = time.perf_counter() - started
        return self

    def per_source(self, query: UserQuery, n: int | None = None) -> dict[str, Ranked]:
        """Each source's ranked candidates (sources with weight 0 are skipped)."""
        depth = n or self.depth
        return {
            name: source.candidates(query, depth)
            for name, source in self.sources.items()
            if self.weights.get(name, 0.0) > 0
        }

    def recommend(self, query: UserQuery, n: int = 10, lists: dict[str, Ranked] | None = None) -> Fused:
        """The fused top n: (item index, score, {source: rank})."""
        lists = lists if lists is not None else self.per_source(query)
        fused, _ = self.fusion.apply(lists, self.weights)
        return fused[:n]

    def source(self, name: str) -> Any:
        return self.sources[name]

    # -- persistence -----------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"{name}__{key}": value for name, s in self.sources.items() for key, value in s.arrays().items()}
        np.savez(folder / "arrays.npz", **arrays)
        meta = {
            "format": FORMAT,
            "sources": {name: s.params() for name, s in self.sources.items()},
            "weights": self.weights,
            "fusion": self.fusion.label,
            "rrf_k": self.rrf_k,
            "depth": self.depth,
            "users": self.users,
            "items": self.items,
        }
        (folder / "model.json").write_text(json.dumps(meta))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> HybridRecommender:
        folder = Path(folder)
        meta = json.loads((folder / "model.json").read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: recommender format {meta.get('format')!r}, expected {FORMAT}")
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            stored = {key: npz[key] for key in npz.files}
        sources = []
        for name, params in meta["sources"].items():
            source = src.SOURCES[name]()
            prefix = f"{name}__"
            source.restore({k[len(prefix) :]: v for k, v in stored.items() if k.startswith(prefix)}, params)
            sources.append(source)
        # a model.json without "fusion" was saved when every version fused by RRF with its rrf_k
        fusion = FusionMethod.parse(meta["fusion"]) if meta.get("fusion") \
            else FusionMethod("rrf", k=float(meta["rrf_k"]))
        model = cls(sources, meta["weights"], int(meta["rrf_k"]), int(meta["depth"]), fusion)
        model.weights = {name: float(w) for name, w in meta["weights"].items()}
        model.users, model.items = list(meta["users"]), list(meta["items"])
        model.user_index = {u: i for i, u in enumerate(model.users)}
        model.item_index = {item: i for i, item in enumerate(model.items)}
        return model


# -- offline helpers ---------------------------------------------------------------------------------------


def split_queries(split: Split, history_limit: int = 200) -> dict[str, UserQuery]:
    """One query per evaluated user: their training history, their training items excluded."""
    return {user: query_for(split.train, user, history_limit) for user in split.targets}


@dataclass
class WindowLists:
    """Per-source candidate lists for every user of one split, so many weightings can be scored cheaply."""

    split: Split
    lists: dict[str, dict[str, Ranked]]  # user -> source -> (item index, score), best first
    items: list[str]

    def score(self, weights: dict[str, float], k: int, method: FusionMethod, metric: str) -> float:
        return self.evaluate(weights, k, method)[metric]

    def rankings(self, weights: dict[str, float] | None, k: int, method: FusionMethod) -> dict[str, list[str]]:
        """Each user's fused top k item ids."""
        out = {}
        for user, per in self.lists.items():
            fused, _ = method.apply(per, weights)
            out[user] = [self.items[item] for item, _, _ in fused[:k]]
        return out

    def evaluate(self, weights: dict[str, float], k: int, method: FusionMethod = RRF_60) -> dict[str, float]:
        return evaluate(self.rankings(weights, k, method), self.split.targets, k, len(self.items))


def window_lists(
    split: Split,
    make: Callable[[], HybridRecommender],
    item_vectors: tuple[np.ndarray, Sequence[str]] | None,
) -> WindowLists:
    model = make()
    vectors = split.train.align_item_vectors(item_vectors[0], item_vectors[1]) if item_vectors else None
    model.fit(split.train, vectors)
    lists = {}
    for user, query in split_queries(split).items():
        lists[user] = model.per_source(query)
    return WindowLists(split, lists, model.items)


@dataclass
class TuningResult:
    weights: dict[str, float]
    metric: str
    default_scores: list[float]  # per window, with the starting weights
    chosen_scores: list[float]  # per window, with the chosen weights
    windows: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "metric": self.metric,
            "windows": self.windows,
            "default_scores": self.default_scores,
            "chosen_scores": self.chosen_scores,
            "steps": self.steps,
        }


def tune_weights(
    splits: Sequence[Split],
    make: Callable[[], HybridRecommender],
    item_vectors: tuple[np.ndarray, Sequence[str]] | None = None,
    k: int = 10,
    grid: Sequence[float] = COARSE_GRID,
    metric: str = "ndcg",
    min_gain: float = 0.02,
    max_loss: float = 0.05,
    passes: int = 2,
    prepared: Sequence[WindowLists] | None = None,
    method: FusionMethod = RRF_60,
    start: dict[str, float] | None = None,
) -> TuningResult:
    """Coordinate search over a coarse grid of fusion weights, scored on several validation windows.

    A move is kept only when the user-weighted mean over windows improves by more than `min_gain`
    (relative) and no window loses more than `max_loss` (relative): small windows are noisy, and a
    weight that wins on one of them while losing on another is noise fitted. Returns the weights and
    each window's score before and after. `prepared` (the splits' `window_lists`) saves refitting when the
    caller has them already. The search scores `method` (RRF k=60, as it always did, unless told) from
    `start` (the starting weights of the search before equal weights won, unless told).
    """
    key = f"{metric}@{k}"
    if prepared is None:
        prepared = [window_lists(split, make, item_vectors) for split in splits]
    base = make()
    names = [name for name in base.sources if any(name in per for w in prepared for per in w.lists.values())]
    begin = SEARCH_START_WEIGHTS if start is None else start
    weights = {name: float(begin.get(name, 1.0)) for name in names}

    def scores(w: dict[str, float]) -> list[float]:
        return [window.score(w, k, method, key) for window in prepared]

    sizes = np.array([max(len(window.split.targets), 1) for window in prepared], dtype=np.float64)

    def mean(values: list[float]) -> float:  # windows weigh by their users: a 7-user window is mostly noise
        return float(np.average(values, weights=sizes))

    current = scores(weights)
    default_scores = list(current)
    steps: list[dict[str, Any]] = []
    for _ in range(passes):
        moved = False
        for name in names:
            for value in grid:
                if value == weights[name]:
                    continue
                trial = {**weights, name: value}
                if not any(v > 0 for v in trial.values()):
                    continue
                trial_scores = scores(trial)
                gains = mean(trial_scores) > mean(current) * (1 + min_gain) + 1e-12
                harms = any(t < c * (1 - max_loss) - 1e-12 for t, c in zip(trial_scores, current, strict=True))
                if gains and not harms:
                    steps.append({"source": name, "from": weights[name], "to": value, "scores": trial_scores})
                    weights, current, moved = trial, trial_scores, True
        if not moved:
            break
    return TuningResult(weights, key, default_scores, current, [s.label for s in splits], steps)
