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
Fusion is the version's `engine.fusion.FusionMethod` with its weights: for versions trained now, equal weights on
rank-normalised positions (`sum_s w_s * (1 - (rank_s - 1) / len_s)`, what held on later windows of the
development data, `python -m evaluation.fusion`); versions saved before keep weighted reciprocal rank (k=60).
The reason shown names the source with the largest share of the product's fused score.

Business rules: only active, in-stock products; with `exclude_purchased`, nothing bought in the last
`context.PURCHASE_EXCLUSION_DAYS` unless the product is replenishable (`Product.attributes["replenishable"]` true,
or its leaf category is one the shop's customers buy again, `ServingTables.replenishable_leaves`: coffee, filters,
pet food...). After a purchase (`context.SUBSTITUTE_DAYS`), its substitutes (same leaf category, not
replenishable) go below everything else (demoted, not dropped: a "Phones" filter must still list phones), and
its complements (the `co_purchase` source) weigh COMPLEMENT_BOOST times more; `category` keeps products whose
category path starts with it (case-insensitive). Then MMR on product embeddings (`diversity.mmr`).

Speed: the version's serving tables are numpy arrays loaded once per process (reloaded when the active version
changes, `serving.py`); one request runs three queries whatever the number of candidates: the context with the
active version's id, the content search, the candidates' product rows (see `recommend_for_customer`), with one
BLAS thread. Around it: the customer's context (`context.py`), the database queries (`candidates.py`), the
sentences (`reasons.py`); batch precompute (`precompute.py`) and similar products (`similar.py`) reuse it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.utils import timezone
from threadpoolctl import ThreadpoolController

from catalog.models import ModelVersion, Product
from customers.models import Customer, EventType
from customers.queries import embed_queries

from .candidates import Candidates, ProductRow, nearest_products, product_rows
from .context import CustomerContext, history_seeds, leaf, load_contexts
from .diversity import DEFAULT_LAMBDA, mmr
from .engine.fusion import DEFAULT_FUSION, FusionMethod
from .reasons import explain
from .serving import ALL, DEFAULT_WEIGHTS, ServingTables, serving_model

SEARCH_QUERIES = 5  # recent searches embedded for a cold-start customer
RECENT_VIEW_DAYS = 30
MMR_POOL = 20  # at least this many of the best candidates are open to MMR
COMPLEMENT_BOOST = 3.0  # co-purchase weight after a recent purchase: a case after a phone, not another phone
PERSONAL_SOURCES = ("content", "als", "item_item", "co_purchase", "recent")
# The weight of a source the version does not know (e.g. a version trained before the source existed).
FALLBACK_WEIGHTS = {**DEFAULT_WEIGHTS}


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
    customer_exists: bool = True  # False: no customer has this id (ranked as a stranger)

    def as_items_json(self) -> list[dict[str, Any]]:
        return [
            {
                "product": item.product.pk,
                "sku": item.product.sku,
                "title": item.product.title,
                "score": round(item.score, 6),
                "reason": item.reason,
                "reason_source": item.reason_source,
                "sources": item.sources,
            }
            for item in self.items
        ]


# --- Ranking --------------------------------------------------------------------------------------------

_lock = threading.Lock()
_active: list[Ranker] = []  # the ranker of the loaded tables, built once per version


class Ranker:
    """Ranks for one version's tables; `recommend` serves a list of customers with a fixed number of queries."""

    def __init__(self, version: ModelVersion | None, tables: ServingTables | None) -> None:
        self.version = version
        self.tables = tables
        self.weights = {**FALLBACK_WEIGHTS, **(tables.weights if tables else {})}
        self.fusion = FusionMethod.parse(tables.fusion) if tables is not None else DEFAULT_FUSION
        self._gram: np.ndarray | None = None
        if tables is not None and tables.item_factors is not None:
            factors = tables.item_factors.astype(np.float32)
            self._gram = factors.T @ factors

    @classmethod
    def active(cls, version_id: int | None = None, *, known: bool = False) -> Ranker:
        """The ranker of the active version, built once per process and version (its ALS Gram matrix costs
        tens of milliseconds on a large catalogue: never per request). With `known`, `version_id` is the active
        version as just read (with a customer's context): no query when it is the one loaded."""
        if known:
            with _lock:
                cached = _active[0] if _active else None
            if cached is not None and cached.tables is not None and cached.version is not None \
                    and cached.version.pk == version_id:
                return cached
        version, tables = serving_model()
        with _lock:
            cached = _active[0] if _active else None
            if cached is not None and cached.version is not None and version is not None \
                    and cached.version.pk == version.pk and cached.tables is tables:
                return cached
        ranker = cls(version, tables)
        with _lock:
            _active[:] = [ranker]
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
        contexts: dict[int, CustomerContext] | None = None,
    ) -> dict[int, RecommendationResult]:
        if not 1 <= k <= 1000:
            raise ValueError(f"k must be between 1 and 1000, got {k}")
        now = now or timezone.now()
        category = (category or "").strip() or None
        if contexts is None:
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
        rows = product_rows(wanted)
        results = {}
        for cid in customer_ids:
            cand = candidates[cid]
            chosen, substitutes = self._finish(cand, rows, k, category, diversity, pool)
            if len(chosen) < k and len(cand.fused) > pool:  # filters removed too much: look further once
                more = {pid for pid, _ in cand.fused[pool:pool * 5]} - rows.keys()
                rows.update(product_rows(more))
                chosen, substitutes = self._finish(cand, rows, k, category, diversity, pool * 5)
            chosen += substitutes[: k - len(chosen)]
            results[cid] = self._result(cand, chosen, rows, category)
        return results

    # -- sources

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
            seeds, _ = history_seeds(context, now)
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
    ) -> Candidates:
        tables = self.tables
        seeds, verbs = history_seeds(context, now)
        again = set(tables.replenishable_leaves) if tables is not None else set()
        exclude = {p for p in context.purchased if context.purchased_leaves.get(p) not in again} \
            if exclude_purchased else set()
        cand = Candidates(context, {}, seeds, verbs)
        if exclude_purchased:  # the purchase rules, together: no re-buys, no substitutes of a recent purchase
            cand.substitute_leaves = {name for name in context.bought_leaves if name not in again}
        if cand.substitute_leaves:
            cand.weights = {**self.weights, "co_purchase": self.weights.get("co_purchase", 0.0) * COMPLEMENT_BOOST}
        lists = cand.lists

        # content: profile vector, or the customer's searches when there is no profile yet
        query_vector = context.profile_vector
        if query_vector is None and context.searches:
            cand.search_vectors = embed_queries(context.searches[:SEARCH_QUERIES])
            mean = cand.search_vectors.mean(axis=0)
            norm = float(np.linalg.norm(mean))
            query_vector = mean / norm if norm > 0 else None
        if query_vector is not None:
            lists["content"] = nearest_products(query_vector, n, category, exclude)

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
        cand.fused, cand.contributions, cand.shares = fuse(lists, cand.weights or self.weights, self.fusion)
        return cand

    # -- finishing

    def _finish(
        self, cand: Candidates, rows: dict[int, ProductRow], k: int, category: str | None, diversity: float,
        depth: int,
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """The MMR-ordered picks, and the substitutes of a recent purchase set aside (best first)."""
        prefix = category.lower() if category else None
        pool: list[tuple[int, float]] = []
        substitutes: list[tuple[int, float]] = []
        for pid, score in cand.fused[:depth]:
            row = rows.get(pid)
            if row is None or not (row.is_active and row.in_stock):
                continue
            if prefix and not row.category.lower().startswith(prefix):
                continue
            if not row.replenishable and leaf(row.category) in cand.substitute_leaves:
                substitutes.append((pid, score))
                continue
            pool.append((pid, score))
        if not pool:
            return [], substitutes
        # MMR reorders the head of the list only, and on rank-based relevance: fused scores' scale depends on the
        # fusion and on how many sources listed an item (reciprocal-rank scores of rank 1 and rank 20 differ by a
        # quarter), so diversity on raw scores would pull in the tail.
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
        return [pool[i] for i in picked], substitutes

    def _result(
        self, cand: Candidates, chosen: list[tuple[int, float]], rows: dict[int, ProductRow], category: str | None,
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
            shares = cand.shares.get(pid, {})
            ordered = sorted(sources, key=lambda s: -shares.get(s, 0.0))
            reason_source, reason = explain(cand, pid, ordered, rows, self.tables, category)
            items.append(Recommendation(rows[pid].as_product(), score, dict(sources), reason, reason_source))
        return RecommendationResult(context.customer_id, items, self.version, personal, fallback, context.exists)


def fuse(
    lists: dict[str, list[int]], weights: dict[str, float], method: FusionMethod = DEFAULT_FUSION
) -> tuple[list[tuple[int, float]], dict[int, dict[str, int]], dict[int, dict[str, float]]]:
    """The engine's fusion of ordered product-id lists: (product id, score) best first, ranks per source, and
    each source's share of every product's score (the reason names the largest).

    Live lists carry order only (pgvector, neighbour tables, popularity lists are already sorted), so a list's
    score is minus the position: exactly what rank normalisation and reciprocal rank use."""
    scored = {source: [(pid, -float(position)) for position, pid in enumerate(pids)] for source, pids in lists.items()}
    fused, shares = method.apply(scored, weights)
    return [(pid, score) for pid, score, _ in fused], {pid: ranks for pid, _, ranks in fused}, shares


def _top_indices(scores: np.ndarray, n: int, *, positive: bool = False) -> np.ndarray:
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[scores[top] > 0] if positive else top


def recommend_for_customer(
    customer: Customer | int,
    k: int = 10,
    category: str | None = None,
    exclude_purchased: bool = True,
    now: datetime | None = None,
) -> RecommendationResult:
    """Top-k products for one customer, explained; popularity (segment, else shop) when nothing is known."""
    customer_id = customer.pk if isinstance(customer, Customer) else int(customer)
    now = now or timezone.now()
    contexts = load_contexts([customer_id], now=now)  # with the active version's id: one round trip for both
    ranker = Ranker.active(contexts[customer_id].recommender_version_id, known=True)
    with _one_blas_thread():
        return ranker.recommend(
            [customer_id], k=k, category=category, exclude_purchased=exclude_purchased, now=now, contexts=contexts
        )[customer_id]


_blas: list[ThreadpoolController] = []


def _one_blas_thread() -> AbstractContextManager[Any]:
    """One request's matrix products are small (one customer's ALS scores, a 30 x 30 similarity): BLAS threads
    only wait for each other, and next to other processes they spin for milliseconds (ALS scores of 42,572
    items: 12 ms median with OpenBLAS's 2 threads on the loaded benchmark machine, 0.2 ms with one). The batch
    job keeps its threads: its products are large."""
    if not _blas:
        _blas.append(ThreadpoolController())
    return _blas[0].limit(limits=1, user_api="blas")


