"""Measuring retrieval and the answerability gate on answered questions: what `tune_assistant` (the shop's
own questions) and `evaluate_assistant` (a Q&A file) share.

The answers become `KnowledgeChunk` rows of temporary products (one per group) inside a transaction that is
rolled back at the end (`temporary_knowledge`): the searches are the serving SQL (`retrieval.candidates`)
on the real table and indexes, and the shop's data is untouched. Each chunk holds the answer only: a chunk
holding its own question would match the question word for word and every method would look perfect.

Each question is searched once; the candidates carry both raw scores, so every method and fusion weight is
scored from them by `retrieval.rank`, the function that serves. A question's own answer is the target
(answers with the same text count too: nothing can tell them apart). For the gate, the same candidates
without the target stand for "the knowledge does not hold the answer".
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from customers.queries import embed_queries, forget_queries

from .models import KnowledgeChunk, SourceKind
from .retrieval import (
    METHODS,
    Candidate,
    RetrievalSettings,
    candidates,
    fuse,
    gate_score,
    rank,
    text_score_of,
    vector_score_of,
)
from .tokens import search_text

MIN_ANSWER_CHARS = 25
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
# r / (r + scale), tuned with the weight: ts_rank with normalisation 1 is ~0.001-0.02, ts_rank_cd 0.1-2
TEXT_SCALES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
EMBED_BATCH = 64

EmbedTexts = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class QA:
    """One answered question; `line` names it in errors and reports (file line or ProductQuestion id)."""

    group: str
    question: str
    answer: str
    line: int


@dataclass
class Knowledge:
    products: dict[str, int]  # group -> temporary product id
    chunks: list[int]  # chunk id of each QA's answer, in input order
    same_answer: dict[int, frozenset[int]]  # chunk id -> chunk ids of the same product with the same text


@dataclass
class Observation:
    """One question searched: its candidates and which of them is its answer."""

    item: QA
    targets: frozenset[int]
    found: list[Candidate]


def group_half(group: str, seed: str = "assistant") -> int:
    """0 or 1, stable across runs and machines (a hash, not Python's salted hash())."""
    return hashlib.sha256(f"{seed}:{group}".encode()).digest()[0] % 2


def _embed_all(texts: list[str], embed_texts: EmbedTexts) -> np.ndarray:
    parts = [np.asarray(embed_texts(texts[i : i + EMBED_BATCH]), dtype=np.float32)
             for i in range(0, len(texts), EMBED_BATCH)]
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


@contextmanager
def temporary_knowledge(items: Sequence[QA], embed_texts: EmbedTexts) -> Iterator[Knowledge]:
    """The items' answers as chunks of temporary products, rolled back when the block ends."""
    vectors = _embed_all([item.answer for item in items], embed_texts)
    run = uuid.uuid4().hex[:12]
    with transaction.atomic():
        groups = sorted({item.group for item in items})
        created = Product.objects.bulk_create(
            [Product(sku=f"eval-{run}-{i}", title=f"evaluation group {group}"[:300]) for i, group in enumerate(groups)]
        )
        products = {group: p.pk for group, p in zip(groups, created, strict=True)}
        now = timezone.now()
        chunks = KnowledgeChunk.objects.bulk_create([
            KnowledgeChunk(
                # negative source ids: the shop's own chunks (positive primary keys) stay untouched beside them
                kind=SourceKind.QUESTION, source_id=-(i + 1), position=0, product_id=products[item.group], title="",
                text=item.answer, language="", search_text=search_text(item.answer), embedding=vectors[i],
                embedding_model="evaluation", text_hash=run, updated_at=now,
            )
            for i, item in enumerate(items)
        ], batch_size=1000)
        ids = [c.pk for c in chunks]
        by_text: dict[tuple[str, str], set[int]] = {}
        for item, chunk_id in zip(items, ids, strict=True):
            by_text.setdefault((item.group, " ".join(item.answer.lower().split())), set()).add(chunk_id)
        same = {cid: frozenset(group) for group in by_text.values() for cid in group}
        yield Knowledge(products, ids, same)
        transaction.set_rollback(True)


def observe(
    items: Sequence[QA], knowledge: Knowledge, *, scope: str, settings: RetrievalSettings, embed_texts: EmbedTexts
) -> list[Observation]:
    """Search every question once: against its group's answers (scope "group") or all of them ("store")."""
    vectors = _embed_all([item.question for item in items], embed_texts)
    every = sorted(knowledge.products.values())
    observations = []
    for item, chunk_id, vector in zip(items, knowledge.chunks, vectors, strict=True):
        products = [knowledge.products[item.group]] if scope == "group" else every
        found = candidates(item.question, vector, product_ids=products, include_general=False, settings=settings)
        observations.append(Observation(item, knowledge.same_answer.get(chunk_id, frozenset({chunk_id})), found))
    return observations


# --- Ranking metrics -----------------------------------------------------------------------------------

def target_rank(observation: Observation, settings: RetrievalSettings, k: int) -> int | None:
    """1-based position of the question's answer among the `k` best, None when not among them."""
    for position, evidence in enumerate(rank(observation.found, settings, k), start=1):
        if evidence.chunk_id in observation.targets:
            return position
    return None


def ranking_metrics(observations: Sequence[Observation], settings: RetrievalSettings, k: int) -> dict[str, float]:
    """MRR@k, Recall@1 and Recall@5 (0 when there is no question)."""
    depth = max(k, 5)
    ranks = [target_rank(o, settings, depth) for o in observations]
    n = max(len(ranks), 1)
    return {
        "mrr_at_k": round(sum(1.0 / r for r in ranks if r is not None and r <= k) / n, 4),
        "recall_at_1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "recall_at_5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
    }


class FusionTable:
    """Every observation's candidates in flat arrays, so the weight grid scores the weighted fusion with
    numpy: the same maps as `retrieval.rank` (text_score_of, vector_score_of, fuse), thousands of times
    faster than ranking each question for each weight (tests check both agree)."""

    def __init__(self, observations: Sequence[Observation]) -> None:
        found = [(i, c, c.chunk_id in o.targets) for i, o in enumerate(observations) for c in o.found]
        self.n = len(observations)
        self.owner = np.array([i for i, _, _ in found], dtype=np.int64)
        self.text_rank = np.array([c.text_rank for _, c, _ in found], dtype=np.float64)
        self.cosine = np.array([c.cosine for _, c, _ in found], dtype=np.float64)
        self.target = np.array([t for _, _, t in found], dtype=bool)
        self.ids = np.array([c.chunk_id for _, c, _ in found], dtype=np.int64)

    def scores(self, weight: float, text_scale: float) -> np.ndarray:
        return fuse(text_score_of(self.text_rank, text_scale), vector_score_of(self.cosine), weight)

    def _best(self, scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
        best = np.full(self.n, -np.inf)
        np.maximum.at(best, self.owner[mask], scores[mask])
        return best

    def target_ranks(self, weight: float, text_scale: float) -> np.ndarray:
        """1-based rank of each question's best-placed answer (inf when neither retriever found it)."""
        scores = self.scores(weight, text_scale)
        target_best = self._best(scores, self.target)
        # ties are broken by chunk id, as `rank` does: the first target in that order is the one that counts
        first = np.full(self.n, np.iinfo(np.int64).max)
        tied = self.target & (scores == target_best[self.owner])
        np.minimum.at(first, self.owner[tied], self.ids[tied])
        level = target_best[self.owner]
        above = ~self.target & ((scores > level) | ((scores == level) & (self.ids < first[self.owner])))
        ranks = np.bincount(self.owner[above], minlength=self.n).astype(np.float64) + 1.0
        ranks[np.isinf(target_best)] = np.inf
        return ranks

    def mrr(self, weight: float, text_scale: float, k: int) -> float:
        ranks = self.target_ranks(weight, text_scale)
        return float(np.where(ranks <= k, 1.0 / ranks, 0.0).sum() / max(self.n, 1))

    def gate_scores(self, weight: float, text_scale: float) -> tuple[np.ndarray, np.ndarray]:
        """The best score with each question's answer in the knowledge, and without it (0 when nothing is left)."""
        scores = self.scores(weight, text_scale)
        present = self._best(scores, np.ones_like(self.target))
        removed = self._best(scores, ~self.target)
        return np.maximum(present, 0.0), np.maximum(removed, 0.0)


def tune_fusion(observations: Sequence[Observation], base: RetrievalSettings, k: int) -> RetrievalSettings:
    """The fusion weight and text scale with the best MRR@k (ties: the smaller weight, then scale)."""
    table = FusionTable(observations)
    best: tuple[float, RetrievalSettings] | None = None
    for scale in TEXT_SCALES:
        for weight in WEIGHTS:
            mrr = round(table.mrr(weight, scale, k), 6)
            if best is None or mrr > best[0]:
                best = (mrr, replace(base, method="fusion", weight=weight, text_scale=scale))
    assert best is not None
    return best[1]


# --- The gate ------------------------------------------------------------------------------------------

def gate_scores(
    observations: Sequence[Observation], settings: RetrievalSettings, k: int
) -> tuple[list[float], list[float]]:
    """The gate's score for each question with its answer in the knowledge, and without it."""
    present, removed = [], []
    for o in observations:
        present.append(gate_score(rank(o.found, settings, k)))
        removed.append(gate_score(rank([c for c in o.found if c.chunk_id not in o.targets], settings, k)))
    return present, removed


def handoff_rates(present: Sequence[float], removed: Sequence[float], threshold: float) -> dict[str, float]:
    """How often the gate hands off (score below the threshold) with the answer present and removed."""
    on_present = sum(1 for s in present if s < threshold) / max(len(present), 1)
    on_removed = sum(1 for s in removed if s < threshold) / max(len(removed), 1)
    return {
        "handoff_rate_answer_present": round(on_present, 4),
        "handoff_rate_answer_removed": round(on_removed, 4),
        "balanced_accuracy": round(0.5 * (on_removed + 1.0 - on_present), 4),
    }


def calibrate_threshold(present: Sequence[float], removed: Sequence[float]) -> float:
    """The threshold with the best balanced accuracy (hand off without the answer, answer with it): the
    two mistakes weigh the same whatever the mix of questions. Thresholds are tried half-way between
    neighbouring scores (not on a score, which would sit on the edge of the data); ties go to the lower
    threshold (answer rather than hand off)."""
    values = sorted(set(present) | set(removed))
    if not values:
        return 0.5
    tried = [values[0]] + [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 1e-6]
    best_threshold, best = tried[0], -1.0
    for threshold in tried:
        accuracy = handoff_rates(present, removed, threshold)["balanced_accuracy"]
        if accuracy > best:
            best_threshold, best = threshold, accuracy
    return round(best_threshold, 6)


# --- Latency -------------------------------------------------------------------------------------------

def latency(
    items: Sequence[QA], knowledge: Knowledge, *, scope: str, settings: RetrievalSettings, k: int, limit: int = 200
) -> dict[str, float]:
    """Milliseconds of a retrieval as serving does it (embed the question, one SQL statement, rank), p50
    and p95 over up to `limit` questions; the query cache is emptied first so each question is embedded."""
    forget_queries()
    every = sorted(knowledge.products.values())
    totals, sql = [], []
    for item in list(items)[:limit]:
        started = time.perf_counter()
        vector = embed_queries([item.question])[0]
        before_sql = time.perf_counter()
        products = [knowledge.products[item.group]] if scope == "group" else every
        found = candidates(item.question, vector, product_ids=products, include_general=False, settings=settings)
        rank(found, settings, k)
        done = time.perf_counter()
        totals.append((done - started) * 1000)
        sql.append((done - before_sql) * 1000)

    def pct(values: list[float], q: int) -> float:
        if len(values) < 2:
            return round(values[0], 2) if values else 0.0
        return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)

    return {
        "queries": len(totals),
        "p50_ms": pct(totals, 50), "p95_ms": pct(totals, 95),
        "search_p50_ms": pct(sql, 50), "search_p95_ms": pct(sql, 95),
    }


def single_methods(base: RetrievalSettings) -> dict[str, RetrievalSettings]:
    """The methods that need no tuning: full-text only, vector only, reciprocal-rank fusion."""
    return {m: replace(base, method=m) for m in METHODS if m != "fusion"}
