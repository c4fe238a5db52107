"""Train the shop's recommender from its own events, and store what live ranking needs precomputed.

Steps (`train_recommender`):
1. Read the shop's product events set-wise (`interactions.py`; an event weighs what `customers.behaviour`
   says: buying beats carting beats looking); a purchase's `order_id` (per customer) is its basket.
2. Fuse with equal weights (`DEFAULT_WEIGHTS`) by `engine.fusion.DEFAULT_FUSION` (rank-normalised score fusion):
   on later windows of the development data that held and a searched weighting did not
   (`python -m evaluation.fusion`). The last `VALIDATION_DAYS` of history, on two windows, measure the fusion
   against popularity alone for the version's metrics (a shop with too little history is not measured).
3. Fit every source on all data, save the engine under `models_dir("recommender")/<name>/engine/`, and next to
   it the serving tables (`serving.ServingTables`): item index <-> product id, ALS factors, top neighbours per
   item (item-item and co-purchase, for candidates and for explanations), popularity (events decayed by
   `customers.behaviour.decay`) and trending overall and per behavioural segment.
4. Record a `ModelVersion` (role recommender; params: sizes, weights; metrics: validation Recall/NDCG per
   window) and activate it: live ranking picks it up at its next request.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.db import connection
from django.utils import timezone

from catalog.model_versions import activate, check_new_version_name, models_dir, record_version
from catalog.models import ModelRole, ModelVersion
from core.progress import NO_PROGRESS, Progress
from customers import behaviour

from .context import LEAF_SQL
from .engine.data import Dataset, build_dataset
from .engine.fusion import DEFAULT_FUSION
from .engine.hybrid import HybridRecommender, default_sources, window_lists
from .engine.splits import cutoff_windows, limit_users
from .interactions import load_interactions, load_item_vectors, load_segments
from .serving import ALL, DEFAULT_WEIGHTS, RankedList, ServingTables

logger = logging.getLogger(__name__)

# Below these, a validation split says nothing: the version is not measured.
MIN_VALIDATION_EVENTS = 2_000
MIN_VALIDATION_USERS = 50
VALIDATION_DAYS = 14
MAX_VALIDATION_USERS = 3000  # customers scored per validation window

NEIGHBOURS = 30  # per item, kept for item-item and co-purchase (30 x 100k items x 12 bytes = 36 MB)
TOP_LIST = 300  # popular / trending items kept per segment
TRENDING_RECENT_DAYS = 7.0
TRENDING_BASELINE_DAYS = 28.0
# A leaf category is replenishable when at least this share of its buyers (and this many) bought in it again,
# in another order: coffee and filters pass, phones and sofas do not.
REPLENISH_SHARE = 0.3
REPLENISH_MIN_BUYERS = 5


# --- Neighbour and popularity tables ----------------------------------------------------------------------

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


def replenishable_leaves(share: float = REPLENISH_SHARE, min_buyers: int = REPLENISH_MIN_BUYERS) -> list[str]:
    """Leaf categories (lower case) that customers buy repeatedly: the share of their buyers with purchases
    in two or more orders (an event without an order id is its own order per day) reaches `share`."""
    purchases = ", ".join(f"'{kind}'" for kind in sorted(behaviour.PURCHASE_EVENTS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT leaf FROM (
                SELECT {LEAF_SQL.format(column="p.category")} AS leaf, e.customer_id,
                       count(DISTINCT CASE WHEN e.order_id = '' THEN e.occurred_at::date::text
                                           ELSE e.order_id END) AS orders
                FROM customers_event e JOIN catalog_product p ON p.id = e.product_id
                WHERE e.type IN ({purchases}) GROUP BY 1, 2
            ) buyers
            WHERE leaf <> '' GROUP BY leaf
            HAVING count(*) >= %s AND avg((orders >= 2)::int) >= %s ORDER BY leaf
            """,
            [min_buyers, share],
        )
        return [row[0] for row in cursor.fetchall()]


def _ranked(scores: np.ndarray, n: int = TOP_LIST) -> RankedList:
    positive = np.flatnonzero(scores > 0)
    if len(positive) > n:
        positive = positive[np.argpartition(-scores[positive], n)[:n]]
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return RankedList(order.astype(np.int64), scores[order].astype(np.float32))


def popularity_lists(items: np.ndarray, times: np.ndarray, weights: np.ndarray, n_items: int, as_of: float,
                     mask: np.ndarray | None = None) -> tuple[RankedList, RankedList]:
    """Popular (weighted counts decayed as profiles decay them) and trending (last week against the four weeks before).

    Trending is a surge score, (recent - expected) / sqrt(expected + 1), so a steady best-seller is popular
    but not trending, and one stray view of a new item does not top the list.
    """
    if mask is not None:
        items, times, weights = items[mask], times[mask], weights[mask]
    age_days = (as_of - times) / 86400.0
    decay = behaviour.decay(np.clip(age_days, 0, None))
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


# The steps a watcher sees advance (progress total): reading, neighbours, popularity, recording.
STEPS = 4


def _step(progress: Progress, message: str, *, advance: bool = False) -> None:
    logger.debug("train_recommender: %s", message)
    progress.stage(message)
    if advance:
        progress.advance(1)


def train_recommender(
    *,
    name: str | None = None,
    job_id: int | None = None,
    activate_version: bool = True,
    min_events: int = 20,
    progress: Progress = NO_PROGRESS,
) -> ModelVersion:
    """Train on the shop's events and record (and by default activate) a recommender version.

    The name becomes a folder under var/models: it is checked before any work (`{"name": "../../outside"}`
    made the worker write outside var/)."""
    if name is not None:
        check_new_version_name(ModelRole.RECOMMENDER, name, ValueError, "a recommender")
    progress.set_total(STEPS)
    _step(progress, "reading events", advance=True)
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
    _step(progress, f"{len(data)} events, {n_users} customers, {n_items} products")
    item_vectors = load_item_vectors(product_ids)

    weights, weights_source, metrics = validate(dataset, item_vectors, progress)
    _step(progress, "fitting on all data")
    model = HybridRecommender(default_sources(with_content=item_vectors is not None), fusion=DEFAULT_FUSION)
    model.fit(dataset, item_vectors)
    als = model.sources.get("als")

    _step(progress, "neighbour tables", advance=True)
    item_item = model.sources.get("item_item")
    tables = ServingTables(
        product_ids=product_ids,
        customer_ids=customer_ids,
        weights={**DEFAULT_WEIGHTS, **weights},
        fusion=DEFAULT_FUSION.label,
        item_item=_top_per_row(item_item.similarity, NEIGHBOURS) if item_item is not None
        else item_item_neighbours(users, items, data.weights, n_users, n_items),
        co_purchase=co_purchase_neighbours(data.baskets, items, n_items),
        user_factors=als.user_factors if als is not None else None,
        item_factors=als.item_factors if als is not None else None,
        as_of=as_of,
        replenishable_leaves=replenishable_leaves(),
    )
    _step(progress, "popularity and trending per segment", advance=True)
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
            "event_weights": {str(kind): weight for kind, weight in behaviour.EVENT_WEIGHTS.items()},
            "weights": tables.weights,
            "weights_source": weights_source,
            "fusion": tables.fusion,
            "as_of": datetime.fromtimestamp(as_of, tz=timezone.get_current_timezone()).isoformat(),
            "neighbours": NEIGHBOURS,
        },
        metrics=metrics,
        job_id=job_id,
    )
    if activate_version:
        activate(version)
    _step(progress, f"recorded {version}", advance=True)
    return version


def validate(
    dataset: Dataset, item_vectors: np.ndarray | None, progress: Progress = NO_PROGRESS
) -> tuple[dict[str, float], str, dict[str, Any]]:
    """The fusion weights (equal, always) and how the version's fusion does on validation windows cut from the
    shop's history, against popularity alone: Recall/NDCG@10 per window, for the admin and the job's result.

    No weight search: on nine later windows of the development data a coarse search over {0, 0.5, 1, 2} on
    short validation windows lost to equal weights, and so did the same search shrunk towards equal weights
    (`python -m evaluation.fusion`). Too little history (few events or customers, or no window with a
    customer active on both sides) is measured not at all.
    """
    equal = dict(DEFAULT_WEIGHTS)
    source = f"equal weights, {DEFAULT_FUSION.label} fusion"
    if len(dataset.row_user) < MIN_VALIDATION_EVENTS or dataset.n_users < MIN_VALIDATION_USERS:
        reason = (
            f"default: history too short to validate ({len(dataset.row_user)} events, {dataset.n_users} customers; "
            f"validation needs {MIN_VALIDATION_EVENTS} and {MIN_VALIDATION_USERS}); {source}"
        )
        return equal, reason, {"validated": False, "fusion": DEFAULT_FUSION.label}
    windows = [
        limit_users(split, MAX_VALIDATION_USERS, seed=w)
        for w, split in enumerate(cutoff_windows(dataset, horizon_days=VALIDATION_DAYS, windows=2))
    ]
    if not windows:
        return equal, f"default: no validation window has customers on both sides; {source}", {
            "validated": False, "fusion": DEFAULT_FUSION.label}
    with_content = item_vectors is not None

    def make() -> HybridRecommender:
        return HybridRecommender(default_sources(with_content=with_content))

    vectors = (item_vectors, dataset.items) if item_vectors is not None else None
    _step(progress, f"validating the fusion on {len(windows)} windows")
    metrics: dict[str, Any] = {"validated": True, "fusion": DEFAULT_FUSION.label, "windows": {}}
    engine_equal = {name: 1.0 for name in make().sources}
    for split in windows:
        prepared = window_lists(split, make, vectors)
        metrics["windows"][split.label] = {
            "customers": len(split.targets),
            "fusion": _rounded(prepared.evaluate(engine_equal, 10, DEFAULT_FUSION)),
            "popularity": _rounded(prepared.evaluate(
                {name: float(name == "popularity") for name in engine_equal}, 10, DEFAULT_FUSION)),
        }
    for key in ("recall@10", "ndcg@10"):
        metrics[key] = float(np.mean([w["fusion"][key] for w in metrics["windows"].values()]))
        metrics[f"popularity_{key}"] = float(np.mean([w["popularity"][key] for w in metrics["windows"].values()]))
    return equal, source, metrics


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(float(value), 5) for key, value in scores.items() if not math.isnan(value)}
