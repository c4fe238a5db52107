"""What live ranking reads from a trained recommender version, and the active version loaded once per process.

Training (`training.py`) writes a version's serving tables next to its engine; ranking, precompute and similar
products read them through `serving_model()`, which reloads only when the active version changes. Nothing
here trains: serving never imports the training code.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from catalog.model_versions import active_version
from catalog.models import ModelRole, ModelVersion

logger = logging.getLogger(__name__)

ALL = "all"  # the key of lists computed over every customer

# Fusion weights: equal for every source (equal weights on rank-normalised scores held on later windows of the
# development data, a searched weighting did not: `python -m evaluation.fusion`); also the weight of a source
# that a version does not know (trained before the source existed).
DEFAULT_WEIGHTS: dict[str, float] = {
    "als": 1.0,
    "item_item": 1.0,
    "co_purchase": 1.0,
    "content": 1.0,
    "recent": 1.0,
    "popularity": 1.0,
    "trending": 1.0,
}
# How a version saved before the fusion was stored fused its sources (`engine.fusion.FusionMethod` label).
LEGACY_FUSION = "rrf:60"


@dataclass
class RankedList:
    items: np.ndarray  # item indices, best first
    scores: np.ndarray


@dataclass
class ServingTables:
    """What live ranking reads from memory: small numpy arrays, loaded once per process and version."""

    product_ids: np.ndarray  # item index -> product id
    customer_ids: np.ndarray  # user index -> customer id
    weights: dict[str, float]
    item_item: sp.csr_matrix  # item x item, top neighbours per row
    co_purchase: sp.csr_matrix
    popular: dict[str, RankedList] = field(default_factory=dict)  # key: ALL or str(segment id)
    trending: dict[str, RankedList] = field(default_factory=dict)
    user_factors: np.ndarray | None = None  # ALS, (users, f)
    item_factors: np.ndarray | None = None  # ALS, (items, f)
    as_of: float = 0.0
    # leaf categories the shop's customers buy again (coffee, filters): a purchase there does not rule out its
    # substitutes (`training.replenishable_leaves`); versions trained before this know none
    replenishable_leaves: list[str] = field(default_factory=list)
    fusion: str = LEGACY_FUSION  # `FusionMethod` label; training writes `engine.fusion.DEFAULT_FUSION`
    item_index: dict[int, int] = field(default_factory=dict, repr=False)
    user_index: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.item_index = {int(pid): i for i, pid in enumerate(self.product_ids)}
        self.user_index = {int(cid): i for i, cid in enumerate(self.customer_ids)}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"product_ids": self.product_ids, "customer_ids": self.customer_ids}
        for name, matrix in (("item_item", self.item_item), ("co_purchase", self.co_purchase)):
            arrays[f"{name}_indptr"] = matrix.indptr
            arrays[f"{name}_indices"] = matrix.indices
            arrays[f"{name}_data"] = matrix.data.astype(np.float32)
        for kind, lists in (("popular", self.popular), ("trending", self.trending)):
            for key, ranked in lists.items():
                arrays[f"{kind}:{key}:items"] = ranked.items
                arrays[f"{kind}:{key}:scores"] = ranked.scores
        if self.user_factors is not None and self.item_factors is not None:
            arrays["user_factors"] = self.user_factors
            arrays["item_factors"] = self.item_factors
        np.savez(folder / "serving.npz", **arrays)  # type: ignore[arg-type]
        (folder / "serving.json").write_text(json.dumps(
            {"weights": self.weights, "as_of": self.as_of, "replenishable_leaves": self.replenishable_leaves,
             "fusion": self.fusion}
        ))

    @classmethod
    def load(cls, folder: Path) -> ServingTables:
        meta = json.loads((folder / "serving.json").read_text())
        with np.load(folder / "serving.npz") as data:
            arrays = {name: data[name] for name in data.files}
        n_items = len(arrays["product_ids"])

        def matrix(name: str) -> sp.csr_matrix:
            return sp.csr_matrix(
                (arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]), shape=(n_items, n_items)
            )

        lists: dict[str, dict[str, RankedList]] = {"popular": {}, "trending": {}}
        for name in arrays:
            if name.endswith(":items"):
                kind, key, _ = name.split(":")
                lists[kind][key] = RankedList(arrays[name], arrays[f"{kind}:{key}:scores"])
        return cls(
            product_ids=arrays["product_ids"],
            customer_ids=arrays["customer_ids"],
            weights={str(k): float(v) for k, v in meta["weights"].items()},
            item_item=matrix("item_item"),
            co_purchase=matrix("co_purchase"),
            popular=lists["popular"],
            trending=lists["trending"],
            user_factors=arrays.get("user_factors"),
            item_factors=arrays.get("item_factors"),
            as_of=float(meta.get("as_of", 0.0)),
            replenishable_leaves=[str(leaf) for leaf in meta.get("replenishable_leaves", [])],
            fusion=str(meta.get("fusion") or LEGACY_FUSION),
        )


# --- The active version, once per process ----------------------------------------------------------------

@dataclass
class _Loaded:
    version_id: int | None = None
    tables: ServingTables | None = None


_lock = threading.Lock()
_loaded = _Loaded()


def serving_model() -> tuple[ModelVersion | None, ServingTables | None]:
    """The active recommender version and its serving tables; reloads when the active version changes.

    One small query per call (which version is active); the files are read only on a change.
    """
    version = active_version(ModelRole.RECOMMENDER)
    if version is None:
        return None, None
    with _lock:
        if _loaded.version_id != version.pk:
            try:
                tables = ServingTables.load(Path(version.path))
            except (OSError, KeyError, ValueError):
                logger.exception("recommender version %s cannot be loaded from %s", version, version.path)
                return version, None
            _loaded.version_id, _loaded.tables = version.pk, tables
        return version, _loaded.tables


def forget_loaded_model() -> None:
    """Drop the cached tables (tests, or to free memory); the next request reads the active version again."""
    with _lock:
        _loaded.version_id, _loaded.tables = None, None
