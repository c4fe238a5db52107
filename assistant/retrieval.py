"""Finding the shop's passages that answer a question: full-text and vector search over `KnowledgeChunk`,
fused, and the answerability gate that reads the result.

One SQL statement gathers the candidates: the `pool` best passages by full-text rank (an OR tsquery of the
question's lexemes: a shopper's question shares some words with its answer, rarely all of them, so AND finds
almost nothing) and the `pool` nearest by cosine distance, each with both raw scores. Python then turns them
into 0-1 scores and fuses them (`rank`), so the evaluation (`assistant/measuring.py`) scores every method and
weight from one query per question through the very code that serves.

Scores (fixed maps, not min-max per query: a product with three passages would stretch its best weak match
to 1.0 and the gate could no longer tell a weak match from a strong one):
- text: r / (r + text_scale), r = ts_rank_cd (or ts_rank) with PostgreSQL's normalisation bitmask;
- vector: the cosine similarity, clipped at 0 (MiniLM vectors are normalised);
- fusion: weight * text + (1 - weight) * vector; rrf: the reciprocal-rank sum over the two lists (k=60),
  divided by its maximum so it is 0-1 too.

Scope: a product's passages plus the general ones (articles, `product_id` NULL) when `include_general`; the
whole store when no product is given. A scoped search reads the scope's rows exactly (a product has tens of
passages; HNSW with a WHERE clause would drop rows after the graph scan); the whole store goes through HNSW
with `hnsw.ef_search` raised to the pool and pgvector 0.8's iterative scan.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeVar

import numpy as np
from django.db import connection, transaction

from catalog.model_versions import active_version
from catalog.models import ModelRole
from customers.queries import embed_queries

from .evidence import Evidence
from .tokens import query_terms

METHODS = ("fusion", "text", "vector", "rrf")
TEXT_RANKS = ("ts_rank_cd", "ts_rank")
HNSW_EF_SEARCH = 200


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are ranked and when the evidence is strong enough to answer. The defaults were measured
    on the public Amazon appliance Q&A development file (see docs); `tune_assistant` replaces them with
    values measured on the shop's own answered questions (the active ModelVersion of role "assistant")."""

    method: str = "fusion"  # fusion | text | vector | rrf
    weight: float = 0.3  # fusion: the full-text score's share (0 = vector only, 1 = full-text only)
    threshold: float = 0.35  # the gate: the best passage's score must reach it
    # ts_rank divided by 1 + log(length): long answers no longer win every OR query (store-wide full-text
    # MRR@10 0.17 against 0.04 for ts_rank_cd without normalisation)
    text_rank: str = "ts_rank"  # PostgreSQL ranking function
    normalization: int = 1  # its normalisation bitmask (0: none, 1: log length, 2: length, 32: r/(r+1)...)
    text_scale: float = 0.05  # text score = r / (r + text_scale); ts_rank/1 is about 0.001-0.02
    rrf_k: int = 60
    pool: int = 50  # candidates taken from each retriever
    version: str = ""  # the ModelVersion the values came from ("" = defaults)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r}: use one of {', '.join(METHODS)}")
        if self.text_rank not in TEXT_RANKS:
            raise ValueError(f"text_rank {self.text_rank!r}: use one of {', '.join(TEXT_RANKS)}")
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight {self.weight}: must be between 0 and 1")
        if self.text_scale <= 0 or self.pool < 1 or self.rrf_k < 1:
            raise ValueError("text_scale, pool and rrf_k must be positive")

    def params(self) -> dict[str, Any]:
        """What a ModelVersion stores (everything but the version's own name)."""
        values = asdict(self)
        values.pop("version")
        return values

    @classmethod
    def from_params(cls, params: dict[str, Any], version: str = "") -> RetrievalSettings:
        """Settings from stored params; unknown keys are ignored and missing ones keep their defaults, so a
        version stored before a setting existed still loads."""
        known = {f.name for f in fields(cls)} - {"version"}
        return cls(**{k: v for k, v in params.items() if k in known}, version=version)


# --- Candidates: one SQL statement ---------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """A passage either retriever returned, with both raw scores."""

    chunk_id: int
    kind: str
    source_id: int
    product_id: int | None
    title: str
    text: str
    language: str
    text_rank: float  # PostgreSQL's rank; 0 when no query term occurs
    cosine: float  # cosine similarity to the question
    text_hit: bool  # among the full-text list
    vector_hit: bool  # among the nearest list


# {rank} and {source} are filled from fixed choices only (never from input); values are bound parameters.
_CANDIDATES_SQL = """
WITH q AS (
    SELECT (SELECT string_agg('''' || replace(lexeme, '''', '''''') || '''', ' | ')
            FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, %(terms)s))) AS lexeme)::tsquery AS query,
           %(vector)s::vector AS vector
){scoped},
text_list AS (
    SELECT c.id FROM {source} c, q
    WHERE q.query IS NOT NULL AND c.search_vector @@ q.query
    ORDER BY {rank}(c.search_vector, q.query, %(normalization)s) DESC, c.id
    LIMIT %(pool)s
),
vector_list AS (
    SELECT c.id FROM {source} c, q
    WHERE c.embedding IS NOT NULL
    ORDER BY c.embedding <=> %(vector)s::vector  -- a constant, so HNSW can serve the whole store
    LIMIT %(pool)s
)
SELECT c.id, c.kind, c.source_id, c.product_id, c.title, c.text, c.language,
       CASE WHEN q.query IS NOT NULL AND c.search_vector @@ q.query
            THEN {rank}(c.search_vector, q.query, %(normalization)s) ELSE 0 END,
       COALESCE(1 - (c.embedding <=> q.vector), 0),
       c.id IN (SELECT id FROM text_list), c.id IN (SELECT id FROM vector_list)
FROM assistant_knowledgechunk c, q
WHERE c.id IN (SELECT id FROM text_list UNION SELECT id FROM vector_list)
"""
# A scope's rows, read once: the vector search over them is exact (no HNSW: see the module's docstring).
_SCOPED_CTE = """,
scoped AS MATERIALIZED (
    SELECT id, search_vector, embedding FROM assistant_knowledgechunk
    WHERE product_id = ANY(%(products)s) OR (%(general)s AND product_id IS NULL)
)"""


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _supports_iterative_scan() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    parts = tuple(int(p) for p in str(row[0]).split(".")[:2] if p.isdigit()) if row else ()
    return parts >= (0, 8)


_iterative: dict[str, bool] = {}


def candidates(
    query: str,
    vector: np.ndarray,
    *,
    product_ids: Sequence[int] | None,
    include_general: bool = True,
    language: str = "",
    settings: RetrievalSettings | None = None,
) -> list[Candidate]:
    """The passages either retriever finds for `query` (its embedding is `vector`), with raw scores.
    `product_ids` None searches the whole store; else those products' passages (and the general ones when
    `include_general`)."""
    settings = settings or RetrievalSettings()
    scoped = product_ids is not None
    sql = _CANDIDATES_SQL.format(
        scoped=_SCOPED_CTE if scoped else "",
        source="scoped" if scoped else "assistant_knowledgechunk",
        rank=settings.text_rank,  # one of TEXT_RANKS (checked by RetrievalSettings)
    )
    params: dict[str, Any] = {
        "terms": " ".join(query_terms(query, language)),
        "vector": _vector_literal(vector),
        "normalization": int(settings.normalization),
        "pool": int(settings.pool),
        "products": list(product_ids or []),
        "general": include_general,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        if not scoped:
            alias = connection.alias
            if alias not in _iterative:
                _iterative[alias] = _supports_iterative_scan()
            cursor.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, int(settings.pool))}")
            if _iterative[alias]:
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Candidate(
            chunk_id=row[0], kind=row[1], source_id=row[2], product_id=row[3], title=row[4], text=row[5],
            language=row[6], text_rank=float(row[7]), cosine=float(row[8]), text_hit=bool(row[9]),
            vector_hit=bool(row[10]),
        )
        for row in rows
    ]


# --- Scores and fusion (Python, on the candidates) ------------------------------------------------------

Score = TypeVar("Score", float, np.ndarray)  # the maps work on one value or on arrays (the evaluation)


def text_score_of(text_rank: Score, text_scale: float) -> Score:
    """PostgreSQL's rank as 0-1: r / (r + scale); 0 for a passage sharing no term."""
    return text_rank / (text_rank + text_scale)


def vector_score_of(cosine: Score) -> Score:
    """The cosine similarity as 0-1 (clipped: an opposite vector is no weaker evidence than an unrelated one)."""
    return np.clip(cosine, 0.0, 1.0) if isinstance(cosine, np.ndarray) else min(max(cosine, 0.0), 1.0)


def fuse(text_score: Score, vector_score: Score, weight: float) -> Score:
    """The weighted fusion: `weight` of the full-text score, the rest of the vector score."""
    return weight * text_score + (1.0 - weight) * vector_score


def _positions(found: list[Candidate], key: str) -> dict[int, int]:
    ordered = sorted(found, key=lambda c: (-getattr(c, key), c.chunk_id))
    return {c.chunk_id: i for i, c in enumerate(ordered, start=1)}


def rank(found: Sequence[Candidate], settings: RetrievalSettings, k: int) -> list[Evidence]:
    """The `k` best passages by the settings' method, as Evidence with 0-1 scores, best first."""
    text_pos = _positions([c for c in found if c.text_hit], "text_rank")
    vector_pos = _positions([c for c in found if c.vector_hit], "cosine")
    best_rrf = 2.0 / (settings.rrf_k + 1)
    method, weight, scale, rrf_k = settings.method, settings.weight, settings.text_scale, settings.rrf_k
    scored: list[tuple[float, int, float, float, Candidate]] = []
    for c in found:
        text_score, vector_score = text_score_of(c.text_rank, scale), vector_score_of(c.cosine)
        if method == "text":
            if c.chunk_id not in text_pos:
                continue
            score = text_score
        elif method == "vector":
            if c.chunk_id not in vector_pos:
                continue
            score = vector_score
        elif method == "rrf":
            score = sum(1.0 / (rrf_k + pos[c.chunk_id]) for pos in (text_pos, vector_pos) if c.chunk_id in pos)
            score /= best_rrf
        else:
            score = fuse(text_score, vector_score, weight)
        scored.append((-score, c.chunk_id, text_score, vector_score, c))
    best = heapq.nsmallest(k, scored, key=lambda item: (item[0], item[1]))
    return [
        Evidence(
            chunk_id=c.chunk_id, kind=c.kind, source_id=c.source_id, product_id=c.product_id, title=c.title,
            text=c.text, language=c.language, score=round(-negative, 6), text_score=round(text_score, 6),
            vector_score=round(vector_score, 6),
            extra={"text_rank": text_pos.get(c.chunk_id), "vector_rank": vector_pos.get(c.chunk_id)},
        )
        for negative, _, text_score, vector_score, c in best
    ]


def retrieve(
    query: str,
    *,
    product_id: int | None = None,
    language: str = "",
    k: int = 8,
    include_general: bool = True,
    settings: RetrievalSettings | None = None,
) -> list[Evidence]:
    """The `k` passages that best answer `query`, best first: the product's and the general ones when a
    product is given, else the whole store's. Empty for an empty query."""
    if not query.strip():
        return []
    settings = settings or active_settings()
    vector = embed_queries([query])[0]
    found = candidates(
        query, vector, product_ids=None if product_id is None else [product_id],
        include_general=include_general, language=language, settings=settings,
    )
    return rank(found, settings, k)


# --- The gate ------------------------------------------------------------------------------------------

def gate_score(evidence: Sequence[Evidence]) -> float:
    """What the gate reads: the best passage's score (0 without evidence)."""
    return max((e.score for e in evidence), default=0.0)


def answerable(evidence: Sequence[Evidence], settings: RetrievalSettings | None = None) -> bool:
    """Whether the evidence is strong enough to answer from: the best passage's score reaches the threshold
    calibrated on validation questions (those whose answer is in the knowledge against those whose is not)."""
    settings = settings or active_settings()
    return bool(evidence) and gate_score(evidence) >= settings.threshold


# --- The active settings, once per process -------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict[str, Any] = {"version_id": None, "settings": RetrievalSettings()}


def active_settings() -> RetrievalSettings:
    """The settings of the active "assistant" ModelVersion, else the defaults. One small query per call
    (which version is active); the params are parsed again only when it changes."""
    version = active_version(ModelRole.ASSISTANT)
    if version is None:
        return RetrievalSettings()
    with _lock:
        if _loaded["version_id"] != version.pk:
            try:
                settings = RetrievalSettings.from_params(version.params or {}, version=version.name)
            except (TypeError, ValueError):
                settings = replace(RetrievalSettings(), version="")  # a broken version must not stop answering
            _loaded["version_id"], _loaded["settings"] = version.pk, settings
        return _loaded["settings"]


def forget_settings() -> None:
    """Drop the cached settings (tests); the next call reads the active version again."""
    with _lock:
        _loaded["version_id"], _loaded["settings"] = None, RetrievalSettings()
