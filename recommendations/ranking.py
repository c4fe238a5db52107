"""Live hybrid ranking: candidates from several sources, fused, filtered by business rules, diversified, explained.

Sources (each a ranked list of product ids):
- `content`: the customer's profile vector's nearest active, in-stock products (pgvector HNSW). A customer
  without a profile vector but with searches gets the embedding of their recent search queries instead.
- `als`: collaborative filtering (implicit ALS factors of the active recommender version); a customer the
  model never saw is folded in from their recent events.
- `item_item`: neighbours of what they recently viewed, carted or bought (item-item table of the version).
- `co_purchase`: "bought together" neighbours of what they bought or carted.
- `popularity`, `trending`: the lists of their behavioural segment, else the shop's.
- `recent`: their own recent views and carts that they did not buy.
Fusion is weighted reciprocal rank (`sum_s w_s / (RRF_K + rank_s)`) with the version's weights.

Business rules: only active, in-stock products; with `exclude_purchased`, nothing bought in the last
`PURCHASE_EXCLUSION_DAYS` unless the product is replenishable (`Product.attributes["replenishable"]` true:
coffee, filters, pet food... things people buy again); `category` keeps products whose category path starts
with it (case-insensitive). Then MMR on product embeddings (`diversity.mmr`).

Speed: the version's serving tables are numpy arrays loaded once per process (reloaded when the active version
changes); one request runs a fixed handful of queries whatever the number of candidates (see `Ranker`).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pgvector.django import CosineDistance

from catalog.model_versions import active_version
from catalog.models import ModelRole, ModelVersion, Product, ProductEmbedding
from customers.models import Customer, CustomerProfile, Event, EventType

from .diversity import DEFAULT_LAMBDA, mmr
from .engine.fusion import fuse as engine_fuse
from .training import ALL, DEFAULT_WEIGHTS, EVENT_WEIGHTS, ServingTables

logger = logging.getLogger(__name__)

RRF_K = 60.0
PURCHASE_EXCLUSION_DAYS = 90
HISTORY_EVENTS = 100  # most recent events read per customer
HISTORY_HALF_LIFE_DAYS = 30.0
HISTORY_ITEMS = 30  # distinct products used as seeds for item-item / co-purchase / ALS fold-in
SEARCH_QUERIES = 5  # recent searches embedded for a cold-start customer
RECENT_VIEW_DAYS = 30
# HNSW candidates explored: recall@10 0.97 against exact search at 100k products (make bench), ~1 ms more than 100
EF_SEARCH = 400
MMR_POOL = 20  # at least this many of the best candidates are open to MMR
PERSONAL_SOURCES = ("content", "als", "item_item", "co_purchase", "recent")
# The weight of a source the version does not know (e.g. a version trained before the source existed).
FALLBACK_WEIGHTS = {**DEFAULT_WEIGHTS}


# --- The active version, once per process ----------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict[str, Any] = {"version_id": None, "version": None, "tables": None}


def serving_model() -> tuple[ModelVersion | None, ServingTables | None]:
    """The active recommender version and its serving tables; reloads when the active version changes.

    One small query per call (which version is active); the files are read only on a change.
    """
    version = active_version(ModelRole.RECOMMENDER)
    if version is None:
        return None, None
    with _lock:
        if _loaded["version_id"] != version.pk:
            try:
                tables = ServingTables.load(Path(version.path))
            except (OSError, KeyError, ValueError):
                logger.exception("recommender version %s cannot be loaded from %s", version, version.path)
                return version, None
            _loaded.update(version_id=version.pk, version=version, tables=tables)
        return version, _loaded["tables"]


def forget_loaded_model() -> None:
    """Drop the cached tables (tests, or to free memory)."""
    with _lock:
        _loaded.update(version_id=None, version=None, tables=None, ranker=None)


_iterative_scan: dict[str, bool] = {}


def _supports_iterative_scan() -> bool:
    """pgvector 0.8 can keep scanning the HNSW graph when filters drop results (hnsw.iterative_scan)."""
    alias = connection.alias
    if alias not in _iterative_scan:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        parts = tuple(int(p) for p in str(row[0]).split(".")[:2] if p.isdigit()) if row else ()
        _iterative_scan[alias] = parts >= (0, 8)
    return _iterative_scan[alias]


# --- What we know about the customer --------------------------------------------------------------------

@dataclass
class HistoryEvent:
    product_id: int | None
    type: str
    occurred_at: datetime
    query: str


@dataclass
class CustomerContext:
    customer_id: int
    profile_vector: np.ndarray | None = None
    segment_id: int | None = None
    segment_name: str = ""
    interests: list[str] = field(default_factory=list)  # top categories, best first
    events: list[HistoryEvent] = field(default_factory=list)  # recent first
    purchased: set[int] = field(default_factory=set)  # bought in the exclusion window, not replenishable
    searches: list[str] = field(default_factory=list)  # recent first, distinct


@dataclass
class ProductRow:
    id: int
    sku: str
    title: str
    category: str
    brand: str
    price: Decimal | None
    currency: str
    is_active: bool
    in_stock: bool
    vector: np.ndarray | None

    def as_product(self) -> Product:
        """An unsaved-looking Product built from the row (no extra query)."""
        product = Product(
            id=self.id, sku=self.sku, title=self.title, category=self.category, brand=self.brand,
            price=self.price, currency=self.currency, is_active=self.is_active, in_stock=self.in_stock,
        )
        product._state.adding = False
        return product


@dataclass
class Recommendation:
    product: Product
    score: float
    sources: dict[str, int]  # source -> 1-based rank in that source's list
    reason: str
    reason_source: str


@dataclass
class RecommendationResult:
    customer_id: int
    items: list[Recommendation]
    model_version: ModelVersion | None
    personalised: bool
    fallback: str  # "" when personalised, else "segment_popularity" or "popularity"

    def as_items_json(self) -> list[dict[str, Any]]:
        return [
            {
                "product": item.product.pk,
                "sku": item.product.sku,
                "title": item.product.title,
                "score": round(item.score, 6),
                "reason": item.reason,
                "sources": item.sources,
            }
            for item in self.items
        ]


@dataclass
class _Candidates:
    context: CustomerContext
    lists: dict[str, list[int]]  # source -> product ids, best first
    seeds: dict[int, float]  # history product id -> weight (recency x event type)
    seed_verbs: dict[int, str]  # history product id -> "viewed" / "added to your cart" / "bought"
    search_vectors: np.ndarray | None = None
    fused: list[tuple[int, float]] = field(default_factory=list)
    contributions: dict[int, dict[str, int]] = field(default_factory=dict)


_VERBS = {
    EventType.PURCHASE: "bought",
    EventType.ADD_TO_CART: "added to your cart",
    EventType.VIEW: "viewed",
    EventType.CLICK: "clicked",
}


def load_contexts(customer_ids: Sequence[int], *, now: datetime) -> dict[int, CustomerContext]:
    """Profiles, recent events and recent purchases of these customers: three queries however many."""
    contexts = {cid: CustomerContext(cid) for cid in customer_ids}
    profiles = CustomerProfile.objects.filter(customer_id__in=customer_ids).select_related("behaviour_segment").only(
        "customer_id", "vector", "interests", "behaviour_segment__id", "behaviour_segment__name",
        "behaviour_segment__is_active",
    )
    for profile in profiles:
        context = contexts[profile.customer_id]
        if profile.vector is not None:
            vector = np.asarray(profile.vector, dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            context.profile_vector = vector / norm if norm > 0 else None
        segment = profile.behaviour_segment
        if segment is not None and segment.is_active:
            context.segment_id, context.segment_name = segment.pk, segment.name
        categories = (profile.interests or {}).get("categories") or []
        context.interests = [str(entry[0]) for entry in categories if isinstance(entry, list | tuple) and entry]

    types = [*EVENT_WEIGHTS, EventType.SEARCH]
    since = now - timedelta(days=365)
    if len(customer_ids) == 1:
        rows: Iterable[tuple[Any, ...]] = (
            Event.objects.filter(customer_id=customer_ids[0], type__in=types, occurred_at__gte=since,
                                 occurred_at__lte=now)
            .order_by("-occurred_at", "-id")
            .values_list("customer_id", "product_id", "type", "occurred_at", "query")[:HISTORY_EVENTS]
        )
    else:  # the batch job: the latest HISTORY_EVENTS per customer, in one window-function query
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT customer_id, product_id, type, occurred_at, query FROM (
                    SELECT customer_id, product_id, type, occurred_at, query,
                           row_number() OVER (PARTITION BY customer_id ORDER BY occurred_at DESC, id DESC) AS n
                    FROM customers_event
                    WHERE customer_id = ANY(%s) AND type = ANY(%s) AND occurred_at >= %s AND occurred_at <= %s
                ) recent WHERE n <= %s ORDER BY customer_id, occurred_at DESC
                """,
                [list(customer_ids), [str(t) for t in types], since, now, HISTORY_EVENTS],
            )
            rows = cursor.fetchall()
    for customer_id, product_id, event_type, occurred_at, query in rows:
        context = contexts[customer_id]
        context.events.append(HistoryEvent(product_id, event_type, occurred_at, query or ""))
        if event_type == EventType.SEARCH and query and query not in context.searches:
            context.searches.append(query)

    bought = (
        Event.objects.filter(
            customer_id__in=customer_ids, type=EventType.PURCHASE, product__isnull=False,
            occurred_at__gte=now - timedelta(days=PURCHASE_EXCLUSION_DAYS), occurred_at__lte=now,
        )
        .values_list("customer_id", "product_id", "product__attributes__replenishable")
        .distinct()
    )
    for customer_id, product_id, replenishable in bought:
        if replenishable is not True:
            contexts[customer_id].purchased.add(product_id)
    return contexts


# --- Ranking --------------------------------------------------------------------------------------------

class Ranker:
    """Ranks for one version's tables; `recommend` serves a list of customers with a fixed number of queries."""

    def __init__(self, version: ModelVersion | None, tables: ServingTables | None) -> None:
        self.version = version
        self.tables = tables
        self.weights = {**FALLBACK_WEIGHTS, **(tables.weights if tables else {})}
        self._gram: np.ndarray | None = None
        if tables is not None and tables.item_factors is not None:
            factors = tables.item_factors.astype(np.float32)
            self._gram = factors.T @ factors

    @classmethod
    def active(cls) -> Ranker:
        """The ranker of the active version, built once per process and version (its ALS Gram matrix costs
        tens of milliseconds on a large catalogue: never per request)."""
        version, tables = serving_model()
        with _lock:
            cached = _loaded.get("ranker")
            if cached is not None and cached.version is not None and version is not None \
                    and cached.version.pk == version.pk and cached.tables is tables:
                return cached
        ranker = cls(version, tables)
        with _lock:
            _loaded["ranker"] = ranker
        return ranker

    # -- public

    def recommend(
        self,
        customer_ids: Sequence[int],
        *,
        k: int = 10,
        category: str | None = None,
        exclude_purchased: bool = True,
        now: datetime | None = None,
        diversity: float = DEFAULT_LAMBDA,
    ) -> dict[int, RecommendationResult]:
        if not 1 <= k <= 1000:
            raise ValueError(f"k must be between 1 and 1000, got {k}")
        now = now or timezone.now()
        category = (category or "").strip() or None
        contexts = load_contexts(customer_ids, now=now)
        n_source = max(50, 5 * k)
        als_scores = self._als_scores_batch([contexts[c] for c in customer_ids], now)
        candidates = {
            cid: self._candidates(contexts[cid], n_source, category, exclude_purchased, now, als_scores.get(cid))
            for cid in customer_ids
        }
        pool = max(3 * k, 60)
        wanted: set[int] = set()
        for cand in candidates.values():
            wanted.update(pid for pid, _ in cand.fused[:pool])
            wanted.update(cand.seeds)
        rows = _product_rows(wanted)
        results = {}
        for cid in customer_ids:
            cand = candidates[cid]
            chosen = self._finish(cand, rows, k, category, diversity, pool)
            if len(chosen) < k and len(cand.fused) > pool:  # filters removed too much: look further once
                more = {pid for pid, _ in cand.fused[pool:pool * 5]} - rows.keys()
                rows.update(_product_rows(more))
                chosen = self._finish(cand, rows, k, category, diversity, pool * 5)
            results[cid] = self._result(cand, chosen, rows)
        return results

    # -- sources

    def _seeds(self, context: CustomerContext, now: datetime) -> tuple[dict[int, float], dict[int, str]]:
        seeds: dict[int, float] = defaultdict(float)
        verbs: dict[int, str] = {}
        strength: dict[int, float] = {}
        for event in context.events:
            if event.product_id is None or event.type not in EVENT_WEIGHTS:
                continue
            age = max((now - event.occurred_at).total_seconds() / 86400.0, 0.0)
            weight = EVENT_WEIGHTS[event.type] * 0.5 ** (age / HISTORY_HALF_LIFE_DAYS)
            seeds[event.product_id] += weight
            if EVENT_WEIGHTS[event.type] > strength.get(event.product_id, 0.0):
                strength[event.product_id] = EVENT_WEIGHTS[event.type]
                verbs[event.product_id] = _VERBS.get(EventType(event.type), "viewed")
        top = sorted(seeds.items(), key=lambda kv: -kv[1])[:HISTORY_ITEMS]
        return dict(top), verbs

    def _history_vector(self, seeds: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """Seed items present in the model as (item indices, weights)."""
        tables = self.tables
        if tables is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        pairs = [(tables.item_index[p], w) for p, w in seeds.items() if p in tables.item_index]
        if not pairs:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        index, weight = zip(*pairs, strict=True)
        return np.array(index, dtype=np.int64), np.array(weight, dtype=np.float32)

    def _als_scores_batch(self, contexts: list[CustomerContext], now: datetime) -> dict[int, np.ndarray]:
        """ALS scores over every item for each customer: known customers in one matrix product, the
        others folded in from their recent events (a least-squares solve against the item factors)."""
        tables = self.tables
        if tables is None or tables.user_factors is None or tables.item_factors is None or self._gram is None:
            return {}
        item_factors = tables.item_factors
        rows: list[np.ndarray] = []
        owners: list[int] = []
        reg = 0.1 * np.eye(item_factors.shape[1], dtype=np.float32)
        for context in contexts:
            index = tables.user_index.get(context.customer_id)
            if index is not None:
                rows.append(tables.user_factors[index])
                owners.append(context.customer_id)
                continue
            seeds, _ = self._seeds(context, now)
            items, weights = self._history_vector(seeds)
            if len(items) == 0:
                continue
            factors = item_factors[items]
            confidence = 1.0 + weights
            a = self._gram + (factors.T * (confidence - 1.0)) @ factors + reg
            b = (factors.T * confidence).sum(axis=1)
            rows.append(np.linalg.solve(a, b).astype(np.float32))
            owners.append(context.customer_id)
        if not rows:
            return {}
        scores = np.stack(rows) @ item_factors.T
        return {owner: scores[i] for i, owner in enumerate(owners)}

    def _candidates(
        self, context: CustomerContext, n: int, category: str | None, exclude_purchased: bool, now: datetime,
        als: np.ndarray | None,
    ) -> _Candidates:
        tables = self.tables
        seeds, verbs = self._seeds(context, now)
        exclude = set(context.purchased) if exclude_purchased else set()
        cand = _Candidates(context, {}, seeds, verbs)
        lists = cand.lists

        # content: profile vector, or the customer's searches when there is no profile yet
        query_vector = context.profile_vector
        if query_vector is None and context.searches:
            cand.search_vectors = embed_queries(context.searches[:SEARCH_QUERIES])
            mean = cand.search_vectors.mean(axis=0)
            norm = float(np.linalg.norm(mean))
            query_vector = mean / norm if norm > 0 else None
        if query_vector is not None:
            lists["content"] = _nearest_products(query_vector, n, category, exclude)

        if tables is not None:
            items, weights = self._history_vector(seeds)
            item_ids = tables.product_ids
            if als is not None:
                top = _top_indices(als, n + len(exclude) + len(items))
                lists["als"] = [int(item_ids[i]) for i in top]
            if len(items):
                scores = np.asarray(tables.item_item[items].T @ weights).ravel()
                lists["item_item"] = [int(item_ids[i]) for i in _top_indices(scores, n, positive=True)]
                bought_or_carted = np.array(
                    [verbs.get(int(item_ids[i])) in ("bought", "added to your cart") for i in items]
                )
                if bought_or_carted.any():
                    scores = np.asarray(
                        tables.co_purchase[items[bought_or_carted]].T @ weights[bought_or_carted]
                    ).ravel()
                    lists["co_purchase"] = [int(item_ids[i]) for i in _top_indices(scores, n, positive=True)]
            segment_key = str(context.segment_id) if context.segment_id is not None else ALL
            for source, table in (("popularity", tables.popular), ("trending", tables.trending)):
                ranked = table.get(segment_key)
                if ranked is None or not len(ranked.items):
                    ranked = table.get(ALL)
                if ranked is not None and len(ranked.items):
                    lists[source] = [int(item_ids[i]) for i in ranked.items[: n + len(exclude)]]
        recent_cutoff = now - timedelta(days=RECENT_VIEW_DAYS)
        recent: list[int] = []
        for event in context.events:
            if (
                event.product_id is not None and event.type in (EventType.VIEW, EventType.ADD_TO_CART)
                and event.occurred_at >= recent_cutoff and event.product_id not in recent
            ):
                recent.append(event.product_id)
        if recent:
            lists["recent"] = recent[:n]
        for source in list(lists):
            lists[source] = [pid for pid in lists[source] if pid not in exclude][:n]
            if not lists[source]:
                del lists[source]
        cand.fused, cand.contributions = fuse(lists, self.weights)
        return cand

    # -- finishing

    def _finish(
        self, cand: _Candidates, rows: dict[int, ProductRow], k: int, category: str | None, diversity: float,
        depth: int,
    ) -> list[tuple[int, float]]:
        prefix = category.lower() if category else None
        pool: list[tuple[int, float]] = []
        for pid, score in cand.fused[:depth]:
            row = rows.get(pid)
            if row is None or not (row.is_active and row.in_stock):
                continue
            if prefix and not row.category.lower().startswith(prefix):
                continue
            pool.append((pid, score))
        if not pool:
            return []
        # MMR reorders the head of the list only, and on rank-based relevance: fused reciprocal-rank scores are so
        # flat (rank 1 and rank 20 differ by a quarter) that diversity would otherwise pull in the tail.
        pool = pool[: max(3 * k, MMR_POOL)]
        vectors = [rows[pid].vector for pid, _ in pool]
        dims = next((len(v) for v in vectors if v is not None), 0)
        matrix = None
        if dims:
            matrix = np.zeros((len(pool), dims), dtype=np.float32)
            for i, vector in enumerate(vectors):
                if vector is not None:
                    norm = float(np.linalg.norm(vector))
                    matrix[i] = vector / norm if norm > 0 else 0.0
        picked = mmr([1.0 - i / len(pool) for i in range(len(pool))], matrix, k, lambda_=diversity)
        return [pool[i] for i in picked]

    def _result(
        self, cand: _Candidates, chosen: list[tuple[int, float]], rows: dict[int, ProductRow]
    ) -> RecommendationResult:
        personal = any(source in cand.lists for source in PERSONAL_SOURCES)
        context = cand.context
        if personal:
            fallback = ""
        elif context.segment_id is not None and self.tables is not None and str(context.segment_id) in (
            self.tables.popular
        ):
            fallback = "segment_popularity"
        else:
            fallback = "popularity"
        items = []
        for pid, score in chosen:
            sources = cand.contributions.get(pid, {})
            reason_source, reason = self._reason(cand, pid, sources, rows)
            items.append(Recommendation(rows[pid].as_product(), score, dict(sources), reason, reason_source))
        return RecommendationResult(context.customer_id, items, self.version, personal, fallback)

    def _reason(
        self, cand: _Candidates, pid: int, sources: dict[str, int], rows: dict[int, ProductRow]
    ) -> tuple[str, str]:
        """The source that contributed most to the item's fused score, told as a sentence."""
        context = cand.context
        ordered = sorted(sources, key=lambda s: -self.weights.get(s, 0.0) / (RRF_K + sources[s]))
        for source in ordered:
            if source in ("item_item", "co_purchase", "als"):
                seed = self._seed_for(cand, pid, "co_purchase" if source == "co_purchase" else "item_item")
                if seed is not None and seed in rows:
                    title = rows[seed].title
                    if source == "co_purchase":
                        return source, f"Bought together with {title}"
                    return source, f"Because you {cand.seed_verbs.get(seed, 'viewed')} {title}"
                if source == "als":
                    return source, "Customers with similar taste liked this"
                continue
            if source == "content":
                if cand.search_vectors is not None and rows[pid].vector is not None:
                    similarity = cand.search_vectors @ np.asarray(rows[pid].vector, dtype=np.float32)
                    return source, f"Similar to what you searched: {context.searches[int(np.argmax(similarity))]}"
                category = rows[pid].category
                interest = next((c for c in context.interests if category.lower().startswith(c.lower())), None)
                levels = [part.strip() for part in category.split(">") if part.strip()]
                if interest is None and context.interests:  # an MMR pick outside their known interests
                    return source, "Something different you may like"
                label = interest or (levels[-1] if levels else "")
                return source, f"Matches your interest in {label}" if label else "Matches your interests"
            if source == "recent":
                return source, "You viewed this recently"
            if source == "popularity":
                if context.segment_name and self.tables is not None and str(context.segment_id) in self.tables.popular:
                    return source, f"Popular in {context.segment_name}"
                return source, "Popular in the shop"
            if source == "trending":
                return source, "Trending now"
        return "", "Recommended for you"

    def _seed_for(self, cand: _Candidates, pid: int, table: str) -> int | None:
        """The history product most responsible for `pid` in the item-item or co-purchase table."""
        tables = self.tables
        if tables is None or pid not in tables.item_index:
            return None
        matrix = tables.co_purchase if table == "co_purchase" else tables.item_item
        target = tables.item_index[pid]
        best, best_score = None, 0.0
        for seed, weight in cand.seeds.items():
            index = tables.item_index.get(seed)
            if index is None:
                continue
            similarity = float(matrix[index, target])
            if similarity * weight > best_score:
                best, best_score = seed, similarity * weight
        return best


def fuse(
    lists: dict[str, list[int]], weights: dict[str, float]
) -> tuple[list[tuple[int, float]], dict[int, dict[str, int]]]:
    """Weighted reciprocal-rank fusion (the engine's): (product id, score) best first, and ranks per source."""
    fused = engine_fuse(lists, weights, int(RRF_K))
    return [(pid, score) for pid, score, _ in fused], {pid: ranks for pid, _, ranks in fused}


def _top_indices(scores: np.ndarray, n: int, *, positive: bool = False) -> np.ndarray:
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[scores[top] > 0] if positive else top


def _nearest_products(vector: np.ndarray, n: int, category: str | None, exclude: set[int]) -> list[int]:
    """Active, in-stock products nearest to `vector` by cosine distance, through the HNSW index.

    Filters run after the index scan, so `hnsw.ef_search` is raised to the number wanted and, on pgvector
    0.8+, `hnsw.iterative_scan` keeps scanning until enough rows pass the filters (relaxed order: the rows
    are re-sorted by distance here).
    """
    queryset = ProductEmbedding.objects.filter(product__is_active=True, product__in_stock=True)
    if category:
        queryset = queryset.filter(product__category__istartswith=category)
    if exclude:
        queryset = queryset.exclude(product_id__in=exclude)
    queryset = queryset.annotate(distance=CosineDistance("embedding", vector.tolist())).order_by("distance")
    settings_sql = f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, n)}"
    if _supports_iterative_scan():
        settings_sql += "; SET LOCAL hnsw.iterative_scan = relaxed_order"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(settings_sql)
        rows = list(queryset.values_list("product_id", "distance")[:n])
    rows.sort(key=lambda row: row[1])
    return [pid for pid, _ in rows]


_PRODUCT_ROWS_SQL = """
    SELECT p.id, p.sku, p.title, p.category, p.brand, p.price, p.currency, p.is_active, p.in_stock, e.embedding
    FROM catalog_product p LEFT JOIN catalog_productembedding e ON e.product_id = p.id
    WHERE p.id = ANY(%s)
"""


def _vector_from_binary(data: bytes | None) -> np.ndarray | None:
    """pgvector's binary form: dimensions (uint16), unused (uint16), then big-endian float32 values."""
    if data is None:
        return None
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)


def _product_rows(ids: Iterable[int]) -> dict[int, ProductRow]:
    """Candidate products with their embeddings in one query. Rows are fetched in binary form: parsing
    hundreds of 384-float vectors from text took longer than the rest of a request."""
    ids = list(ids)
    rows: dict[int, ProductRow] = {}
    if not ids:
        return rows
    connection.ensure_connection()
    # A plain (server-side binding) psycopg cursor on Django's connection: Django's client-side cursors
    # cannot return binary results. Same connection, so the same transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_PRODUCT_ROWS_SQL, [ids], binary=True)
        for row in cursor.fetchall():
            rows[row[0]] = ProductRow(
                id=row[0], sku=row[1], title=row[2], category=row[3], brand=row[4], price=row[5],
                currency=row[6], is_active=row[7], in_stock=row[8], vector=_vector_from_binary(row[9]),
            )
    return rows


_query_cache: dict[str, np.ndarray] = {}


def embed_queries(queries: Sequence[str]) -> np.ndarray:
    """Search queries embedded with the shop's embedding model (cached per process: shoppers repeat)."""
    missing = [q for q in queries if q not in _query_cache]
    if missing:
        from inference.registry import embedder

        for query, vector in zip(missing, embedder().encode(missing), strict=True):
            if len(_query_cache) > 10_000:
                _query_cache.clear()
            _query_cache[query] = vector
    return np.stack([_query_cache[q] for q in queries]).astype(np.float32)


# --- Entry points -----------------------------------------------------------------------------------------

def recommend_for_customer(
    customer: Customer | int,
    k: int = 10,
    category: str | None = None,
    exclude_purchased: bool = True,
    now: datetime | None = None,
) -> RecommendationResult:
    """Top-k products for one customer, explained; popularity (segment, else shop) when nothing is known."""
    customer_id = customer.pk if isinstance(customer, Customer) else int(customer)
    ranker = Ranker.active()
    return ranker.recommend([customer_id], k=k, category=category, exclude_purchased=exclude_purchased, now=now)[
        customer_id
    ]


# --- Batch precompute ---------------------------------------------------------------------------------------

PRECOMPUTE_CHUNK = 500  # customers per chunk: one ALS matrix product of 500 x items floats (200 MB at 100k items)


def audience_ids(customer_ids: Sequence[int] | None = None, segment_keys: Sequence[str] | None = None) -> list[int]:
    """Customer ids of an audience: the given ids, the members of the given segments, or everyone."""
    if customer_ids is not None:
        return sorted(set(Customer.objects.filter(pk__in=list(customer_ids)).values_list("pk", flat=True)))
    if segment_keys is not None:
        from customers.models import Segment

        keys = list(segment_keys)
        known = set(Segment.objects.filter(key__in=keys).values_list("key", flat=True))
        unknown = sorted(set(keys) - known)
        if unknown:
            raise ValueError(f"unknown segment key(s): {', '.join(unknown)}")
        return sorted(set(
            CustomerProfile.objects.filter(
                Q(lifecycle_segment__key__in=keys) | Q(behaviour_segment__key__in=keys)
            ).values_list("customer_id", flat=True)
        ))
    return list(Customer.objects.order_by("pk").values_list("pk", flat=True))


def precompute_recommendations(
    *,
    customer_ids: Sequence[int] | None = None,
    segment_keys: Sequence[str] | None = None,
    k: int = 10,
    job_id: int | None = None,
    now: datetime | None = None,
    set_total: Any = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Rank top-k for an audience into `RecommendationSet` rows (one upsert per chunk; re-running rewrites).

    The version's tables are loaded once; each chunk reads contexts in three queries, scores ALS for the whole
    chunk in one matrix product, and runs one content query per customer with a profile vector.
    """
    from .models import RecommendationSet

    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")
    ids = audience_ids(customer_ids, segment_keys)
    if set_total:
        set_total(len(ids))
    ranker = Ranker.active()
    now = now or timezone.now()
    counts = {"customers": 0, "personalised": 0, "fallback": 0, "empty": 0}
    for start in range(0, len(ids), PRECOMPUTE_CHUNK):
        chunk = ids[start : start + PRECOMPUTE_CHUNK]
        results = ranker.recommend(chunk, k=k, now=now)
        rows = [
            RecommendationSet(
                customer_id=cid, items=result.as_items_json(), model_version=ranker.version, job_id=job_id,
                computed_at=timezone.now(),
            )
            for cid, result in results.items()
        ]
        with transaction.atomic():
            RecommendationSet.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["customer"],
                update_fields=["items", "model_version", "job", "computed_at"],
            )
        chunk_counts = {
            "customers": len(chunk),
            "personalised": sum(1 for r in results.values() if r.personalised),
            "fallback": sum(1 for r in results.values() if not r.personalised),
            "empty": sum(1 for r in results.values() if not r.items),
        }
        for key, value in chunk_counts.items():
            counts[key] += value
        if progress:
            progress(len(chunk), **chunk_counts)
    counts["model_version"] = ranker.version.pk if ranker.version else None  # type: ignore[assignment]
    return counts


# --- Similar products -----------------------------------------------------------------------------------------

SIMILAR_WEIGHTS = {"content": 1.0, "item_item": 1.0, "co_purchase": 0.8}


@dataclass
class SimilarResult:
    product_id: int
    items: list[Recommendation]
    model_version: ModelVersion | None


def similar_products(product: Product | int, k: int = 10) -> SimilarResult:
    """Products like this one: text neighbours (pgvector) fused with item-item and co-purchase neighbours of the
    active version when it knows the product. Same business rules (active, in stock); no MMR (similar is asked)."""
    if not 1 <= k <= 1000:
        raise ValueError(f"k must be between 1 and 1000, got {k}")
    product_id = product.pk if isinstance(product, Product) else int(product)
    version, tables = serving_model()
    n = max(50, 5 * k)
    lists: dict[str, list[int]] = {}
    embedding = ProductEmbedding.objects.filter(product_id=product_id).values_list("embedding", flat=True).first()
    if embedding is not None:
        lists["content"] = _nearest_products(np.asarray(embedding, dtype=np.float32), n, None, {product_id})
    if tables is not None and product_id in tables.item_index:
        index = tables.item_index[product_id]
        for source, matrix in (("item_item", tables.item_item), ("co_purchase", tables.co_purchase)):
            start, end = matrix.indptr[index], matrix.indptr[index + 1]
            order = np.argsort(-matrix.data[start:end], kind="stable")
            neighbours = [int(tables.product_ids[i]) for i in matrix.indices[start:end][order] if i != index]
            if neighbours:
                lists[source] = neighbours[:n]
    fused, contributions = fuse(lists, SIMILAR_WEIGHTS)
    rows = _product_rows([pid for pid, _ in fused[: max(3 * k, 60)]] + [product_id])
    title = rows[product_id].title if product_id in rows else "this product"
    texts = {
        "content": f"Similar to {title}",
        "item_item": f"Customers who viewed {title} also viewed this",
        "co_purchase": f"Often bought together with {title}",
    }
    items: list[Recommendation] = []
    for pid, score in fused:
        row = rows.get(pid)
        if row is None or pid == product_id or not (row.is_active and row.in_stock):
            continue
        sources = contributions.get(pid, {})
        best = max(sources, key=lambda s: SIMILAR_WEIGHTS.get(s, 0.0) / (RRF_K + sources[s]))
        items.append(Recommendation(row.as_product(), score, dict(sources), texts[best], best))
        if len(items) == k:
            break
    return SimilarResult(product_id, items, version)
