"""Train the shop's recommender from its own events, and store what live ranking needs precomputed.

Steps (`train_recommender`):
1. Read the shop's product events set-wise (one SQL pass into numpy arrays, no model instances): purchase
   weighs 3, add to cart 2, view and click 1; a purchase's `order_id` (per customer) is its basket.
2. Tune the fusion weights on a time split of this data with the engine's `tune_weights` (the last
   `VALIDATION_DAYS` of history is held out, on two windows so the choice is checked twice). A shop with too
   little history keeps `DEFAULT_WEIGHTS`, and the version's params say so.
3. Fit every source on all data, save the engine under `models_dir("recommender")/<name>/engine/`, and next to
   it the serving tables (`ServingTables`): item index <-> product id, ALS factors, top neighbours per item
   (item-item and co-purchase, for candidates and for explanations), popularity and trending overall and per
   behavioural segment.
4. Record a `ModelVersion` (role recommender; params: sizes, weights; metrics: validation Recall/NDCG per
   window) and activate it: live ranking picks it up at its next request.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.db import connection
from django.utils import timezone

from catalog.model_versions import activate, models_dir, record_version
from catalog.models import ModelRole, ModelVersion

from .engine.data import Dataset, build_dataset
from .engine.hybrid import HybridRecommender, default_sources, tune_weights, window_lists
from .engine.splits import cutoff_windows, limit_users

logger = logging.getLogger(__name__)

# How much one event says about interest: buying beats carting beats looking.
EVENT_WEIGHTS: dict[str, float] = {"purchase": 3.0, "add_to_cart": 2.0, "view": 1.0, "click": 1.0}

# Fusion weights when the shop's history is too short to tune them (few, coarse, reciprocal-rank friendly).
DEFAULT_WEIGHTS: dict[str, float] = {
    "als": 1.0,
    "item_item": 1.0,
    "co_purchase": 0.8,
    "content": 1.0,
    "recent": 0.6,
    "popularity": 0.4,
    "trending": 0.3,
}
# Below these, a validation split says nothing: keep the default weights.
MIN_TUNING_EVENTS = 2_000
MIN_TUNING_USERS = 50
VALIDATION_DAYS = 14
MAX_TUNING_USERS = 3000  # customers scored per validation window: enough to tell coarse weights apart

NEIGHBOURS = 30  # per item, kept for item-item and co-purchase (30 x 100k items x 12 bytes = 36 MB)
TOP_LIST = 300  # popular / trending items kept per segment
POPULARITY_HALF_LIFE_DAYS = 30.0
TRENDING_RECENT_DAYS = 7.0
TRENDING_BASELINE_DAYS = 28.0
ALL = "all"  # the key of lists computed over every customer


# --- 1. Interactions --------------------------------------------------------------------------------------

@dataclass
class Interactions:
    """Product events as parallel arrays (one row per event), sorted by time."""

    customer_ids: np.ndarray  # int64
    product_ids: np.ndarray  # int64
    times: np.ndarray  # float64, seconds since the epoch
    weights: np.ndarray  # float32
    baskets: np.ndarray  # int64, 0 when the event is not part of an order

    def __len__(self) -> int:
        return len(self.customer_ids)


_EVENTS_SQL = """
SELECT customer_id, product_id,
       EXTRACT(EPOCH FROM occurred_at)::float8,
       CASE type {cases} ELSE 0 END,
       CASE WHEN order_id = '' THEN 0 ELSE hashtextextended(order_id, customer_id) END
FROM customers_event
WHERE product_id IS NOT NULL AND type = ANY(%s) {extra}
ORDER BY occurred_at, id
"""


def load_interactions(*, until: datetime | None = None, chunk: int = 200_000) -> Interactions:
    """Every product event (before `until`) as arrays: one query, fetched in chunks, no ORM objects.

    Baskets are a 64-bit hash of (customer, order id), so two customers' "order 1" never merge.
    """
    types = list(EVENT_WEIGHTS)
    cases = " ".join(f"WHEN '{name}' THEN {weight}" for name, weight in EVENT_WEIGHTS.items())
    params: list[Any] = [types]
    extra = ""
    if until is not None:
        extra = "AND occurred_at < %s"
        params.append(until)
    parts: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_SQL.format(cases=cases, extra=extra), params)
        while rows := cursor.fetchmany(chunk):
            parts.append(np.array(rows, dtype=object))
    if not parts:
        empty = np.zeros(0)
        return Interactions(
            empty.astype(np.int64), empty.astype(np.int64), empty, empty.astype(np.float32), empty.astype(np.int64)
        )
    table = np.concatenate(parts)
    return Interactions(
        customer_ids=table[:, 0].astype(np.int64),
        product_ids=table[:, 1].astype(np.int64),
        times=table[:, 2].astype(np.float64),
        weights=table[:, 3].astype(np.float32),
        baskets=table[:, 4].astype(np.int64),
    )


def load_item_vectors(product_ids: np.ndarray) -> np.ndarray | None:
    """Product embeddings in the order of `product_ids` (zero rows where missing); None when none exist."""
    from catalog.models import ProductEmbedding

    position = {int(pid): i for i, pid in enumerate(product_ids)}
    vectors: np.ndarray | None = None
    for pid, embedding in ProductEmbedding.objects.values_list("product_id", "embedding").iterator(chunk_size=5000):
        index = position.get(pid)
        if index is None:
            continue
        row = np.asarray(embedding, dtype=np.float32)
        if vectors is None:
            vectors = np.zeros((len(product_ids), len(row)), dtype=np.float32)
        vectors[index] = row
    return vectors


def load_segments(customer_ids: np.ndarray) -> dict[int, np.ndarray]:
    """Behavioural segment id -> the sorted customer ids in it (from CustomerProfile.behaviour_segment)."""
    from customers.models import CustomerProfile

    rows = np.array(
        list(CustomerProfile.objects.filter(behaviour_segment__isnull=False).values_list(
            "customer_id", "behaviour_segment_id"
        )),
        dtype=np.int64,
    ).reshape(-1, 2)
    return {int(seg): np.sort(rows[rows[:, 1] == seg, 0]) for seg in np.unique(rows[:, 1])}


# --- 3. Serving tables ------------------------------------------------------------------------------------

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
    item_item: sp.csr_matrix  # item x item, top NEIGHBOURS per row
    co_purchase: sp.csr_matrix
    popular: dict[str, RankedList] = field(default_factory=dict)  # key: ALL or str(segment id)
    trending: dict[str, RankedList] = field(default_factory=dict)
    user_factors: np.ndarray | None = None  # ALS, (users, f)
    item_factors: np.ndarray | None = None  # ALS, (items, f)
    as_of: float = 0.0
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
        (folder / "serving.json").write_text(json.dumps({"weights": self.weights, "as_of": self.as_of}))

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
        )


def _top_per_row(matrix: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """Keep the m largest entries of each row (diagonal dropped)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        cols, vals = matrix.indices[start:end], matrix.data[start:end]
        if len(vals) > m:
            keep = np.argpartition(-vals, m)[:m]
            cols, vals = cols[keep], vals[keep]
        order = np.argsort(-vals, kind="stable")
        indices.append(cols[order])
        data.append(vals[order])
        indptr.append(indptr[-1] + len(order))
    return sp.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int32),
            np.array(indptr),
        ),
        shape=matrix.shape,
    )


def item_item_neighbours(users: np.ndarray, items: np.ndarray, weights: np.ndarray, n_users: int, n_items: int,
                         m: int = NEIGHBOURS) -> sp.csr_matrix:
    """Cosine similarity of items over who interacted with them (log-damped weights), top m per item."""
    matrix = sp.csr_matrix((np.log1p(weights), (users, items)), shape=(n_users, n_items), dtype=np.float32)
    matrix.sum_duplicates()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    normalised = matrix @ sp.diags(1.0 / norms)
    return _top_per_row(sp.csr_matrix(normalised.T @ normalised), m)


def co_purchase_neighbours(baskets: np.ndarray, items: np.ndarray, n_items: int, m: int = NEIGHBOURS) -> sp.csr_matrix:
    """Items bought in the same order, counted once per order, scored count / sqrt(orders_i * orders_j)."""
    in_order = baskets != 0
    if not in_order.any():
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    _, basket_codes = np.unique(baskets[in_order], return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(in_order.sum(), dtype=np.float32), (basket_codes, items[in_order])),
        shape=(int(basket_codes.max()) + 1, n_items),
    )
    matrix.data[:] = 1.0  # an item twice in one order counts once
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    counts[counts == 0] = 1.0
    together = sp.csr_matrix(matrix.T @ matrix)
    scale = 1.0 / np.sqrt(counts)
    together = sp.csr_matrix(sp.diags(scale) @ together @ sp.diags(scale))
    return _top_per_row(together, m)


def _ranked(scores: np.ndarray, n: int = TOP_LIST) -> RankedList:
    positive = np.flatnonzero(scores > 0)
    if len(positive) > n:
        positive = positive[np.argpartition(-scores[positive], n)[:n]]
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return RankedList(order.astype(np.int64), scores[order].astype(np.float32))


def popularity_lists(items: np.ndarray, times: np.ndarray, weights: np.ndarray, n_items: int, as_of: float,
                     mask: np.ndarray | None = None) -> tuple[RankedList, RankedList]:
    """Popular (time-decayed weighted counts) and trending (last week against the four weeks before).

    Trending is a surge score, (recent - expected) / sqrt(expected + 1), so a steady best-seller is popular
    but not trending, and one stray view of a new item does not top the list.
    """
    if mask is not None:
        items, times, weights = items[mask], times[mask], weights[mask]
    age_days = (as_of - times) / 86400.0
    decay = np.power(0.5, np.clip(age_days, 0, None) / POPULARITY_HALF_LIFE_DAYS)
    popular = np.bincount(items, weights=weights * decay, minlength=n_items)
    recent_mask = age_days <= TRENDING_RECENT_DAYS
    base_mask = (age_days > TRENDING_RECENT_DAYS) & (age_days <= TRENDING_RECENT_DAYS + TRENDING_BASELINE_DAYS)
    recent = np.bincount(items[recent_mask], weights=weights[recent_mask], minlength=n_items)
    expected = np.bincount(items[base_mask], weights=weights[base_mask], minlength=n_items) * (
        TRENDING_RECENT_DAYS / TRENDING_BASELINE_DAYS
    )
    surge = (recent - expected) / np.sqrt(expected + 1.0)
    surge[recent < 2] = 0.0  # at least two events this week
    return _ranked(popular), _ranked(surge)


# --- 2-4. The training job ------------------------------------------------------------------------------

class NotEnoughHistory(ValueError):
    """The shop has too few product events to train anything."""


Progress = Callable[[str], None]


def train_recommender(
    *,
    name: str | None = None,
    job_id: int | None = None,
    activate_version: bool = True,
    min_events: int = 20,
    progress: Progress | None = None,
) -> ModelVersion:
    """Train on the shop's events and record (and by default activate) a recommender version."""
    say = progress or (lambda message: logger.info("train_recommender: %s", message))
    say("reading events")
    data = load_interactions()
    if len(data) < min_events:
        raise NotEnoughHistory(
            f"only {len(data)} product events (views, carts, purchases, clicks); need at least {min_events} "
            "to train a recommender: popularity serves until then"
        )
    # Rows outside an order get a basket of their own, so only items bought in one order pair up.
    baskets = np.where(data.baskets != 0, data.baskets, -np.arange(1, len(data) + 1, dtype=np.int64))
    dataset = build_dataset(data.customer_ids, data.product_ids, data.times, data.weights, baskets)
    product_ids = np.array(dataset.items, dtype=np.int64)
    customer_ids = np.array(dataset.users, dtype=np.int64)
    items, users = dataset.row_item.astype(np.int64), dataset.row_user.astype(np.int64)
    n_items, n_users = dataset.n_items, dataset.n_users
    as_of = float(data.times.max())
    say(f"{len(data)} events, {n_users} customers, {n_items} products")
    item_vectors = load_item_vectors(product_ids)

    weights, weights_source, metrics = tune(dataset, item_vectors, say)
    say("fitting on all data")
    model = HybridRecommender(default_sources(with_content=item_vectors is not None), weights=weights)
    model.fit(dataset, item_vectors)
    als = model.sources.get("als")

    say("neighbour tables")
    item_item = model.sources.get("item_item")
    tables = ServingTables(
        product_ids=product_ids,
        customer_ids=customer_ids,
        weights={**DEFAULT_WEIGHTS, **weights},
        item_item=_top_per_row(item_item.similarity, NEIGHBOURS) if item_item is not None
        else item_item_neighbours(users, items, data.weights, n_users, n_items),
        co_purchase=co_purchase_neighbours(data.baskets, items, n_items),
        user_factors=als.user_factors if als is not None else None,
        item_factors=als.item_factors if als is not None else None,
        as_of=as_of,
    )
    say("popularity and trending per segment")
    tables.popular[ALL], tables.trending[ALL] = popularity_lists(items, data.times, data.weights, n_items, as_of)
    segments = load_segments(customer_ids)
    for segment_id, members in segments.items():
        mask = np.isin(data.customer_ids, members)
        if mask.any():
            key = str(segment_id)
            tables.popular[key], tables.trending[key] = popularity_lists(
                items, data.times, data.weights, n_items, as_of, mask
            )

    name = name or f"hybrid-{timezone.now():%Y%m%d-%H%M%S}"
    folder = models_dir(ModelRole.RECOMMENDER) / name
    tables.save(folder)
    model.sources.pop("content", None)  # serving searches content in pgvector; no second copy of the vectors
    model.save(folder / "engine")
    version = record_version(
        ModelRole.RECOMMENDER,
        name,
        path=folder,
        base_model="hybrid: ALS (implicit), item-item, co-purchase, content, popularity, trending",
        params={
            "events": len(data),
            "customers": n_users,
            "products": n_items,
            "products_with_embedding": int((np.abs(item_vectors).sum(axis=1) > 0).sum()) if item_vectors is not None
            else 0,
            "segments": len(segments),
            "event_weights": EVENT_WEIGHTS,
            "weights": tables.weights,
            "weights_source": weights_source,
            "as_of": datetime.fromtimestamp(as_of, tz=timezone.get_current_timezone()).isoformat(),
            "neighbours": NEIGHBOURS,
        },
        metrics=metrics,
        job_id=job_id,
    )
    if activate_version:
        activate(version)
    say(f"recorded {version}")
    return version


def tune(
    dataset: Dataset, item_vectors: np.ndarray | None, say: Progress
) -> tuple[dict[str, float], str, dict[str, Any]]:
    """Fusion weights from the engine's coarse search on validation windows cut from the shop's history.

    Metrics are Recall/NDCG@10 per window with the starting and the chosen weights. Too little history (few
    events or customers, or windows without a customer active on both sides) keeps the defaults.
    """
    if len(dataset.row_user) < MIN_TUNING_EVENTS or dataset.n_users < MIN_TUNING_USERS:
        reason = (
            f"default: history too short to tune ({len(dataset.row_user)} events, {dataset.n_users} customers; "
            f"tuning needs {MIN_TUNING_EVENTS} and {MIN_TUNING_USERS})"
        )
        return dict(DEFAULT_WEIGHTS), reason, {"tuned": False}
    windows = [
        limit_users(split, MAX_TUNING_USERS, seed=w)
        for w, split in enumerate(cutoff_windows(dataset, horizon_days=VALIDATION_DAYS, windows=2))
    ]
    if not windows:
        return dict(DEFAULT_WEIGHTS), "default: no validation window has customers on both sides", {"tuned": False}
    with_content = item_vectors is not None

    def make() -> HybridRecommender:
        return HybridRecommender(default_sources(with_content=with_content))

    vectors = (item_vectors, dataset.items) if item_vectors is not None else None
    say(f"tuning fusion weights on {len(windows)} validation windows")
    prepared_windows = [window_lists(split, make, vectors) for split in windows]
    result = tune_weights(windows, make, vectors, k=10, prepared=prepared_windows)
    metrics: dict[str, Any] = {"tuned": True, "metric": result.metric, "windows": {}}
    for split, prepared in zip(windows, prepared_windows, strict=True):
        start = make().weights
        metrics["windows"][split.label] = {
            "customers": len(split.targets),
            "default": _rounded(prepared.evaluate(start, 10, 60)),
            "chosen": _rounded(prepared.evaluate(result.weights, 10, 60)),
        }
    chosen = [w["chosen"]["ndcg@10"] for w in metrics["windows"].values()]
    metrics["ndcg@10"] = float(np.mean(chosen))
    metrics["recall@10"] = float(np.mean([w["chosen"]["recall@10"] for w in metrics["windows"].values()]))
    metrics["steps"] = result.steps
    source = "tuned" if result.steps else "tuned: the defaults won on the validation windows"
    return {**DEFAULT_WEIGHTS, **result.weights}, source, metrics


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(float(value), 5) for key, value in scores.items() if not math.isnan(value)}
