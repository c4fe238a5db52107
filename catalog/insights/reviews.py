"""Analysing reviews: each review's scores stored in `ReviewInsight` with the model versions behind them.

A review is analysed again only when its text or an active model changed (the hash of both is stored),
so re-running does no duplicate work, and work is committed per chunk, so a killed job resumes where it
stopped.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress

from ..incremental import content_hash, ids_to_do, in_chunks
from ..models import Review, ReviewInsight
from .scoring import Scorer, load_scorer, review_text

CHUNK = 256  # reviews per model pass and per commit: ~1 MB of text, a few seconds on 2 CPU cores
CORPUS_REVIEWS = 5000  # the shop's latest reviews the unsupervised aspect extractor is fitted on, when it serves


def pending_reviews() -> QuerySet[Review]:
    """Reviews without an insight, or edited after it was made (incremental processing)."""
    return Review.objects.filter(Q(insight__isnull=True) | Q(updated_at__gt=F("insight__processed_at"))).order_by("pk")


def chinese_corpus() -> list[str]:
    """The shop's latest Chinese reviews (up to CORPUS_REVIEWS), which the Chinese aspect extractor is
    fitted on: a few new reviews alone are too few to tell which nouns are aspects."""
    han = Q(title__regex="[\u4e00-\u9fff]") | Q(text__regex="[\u4e00-\u9fff]")
    rows = Review.objects.filter(Q(language__startswith="zh") | han).order_by("-pk")[:CORPUS_REVIEWS]
    return [review_text(title, text) for title, text in rows.values_list("title", "text")]


def analyze_reviews(
    review_ids: Iterable[int] | None = None,
    *,
    progress: Progress = NO_PROGRESS,
    scorer: Scorer | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Analyse the given reviews (default: every pending one), CHUNK at a time, committing each chunk.

    A review whose text and model versions are unchanged since its insight was made is skipped, so a
    re-run or a resumed job does no duplicate work.
    """
    ids = ids_to_do(Review.objects.all(), pending_reviews(), review_ids, force=force)
    progress.set_total(len(ids))
    if not ids:
        return {"analyzed": 0, "skipped": 0}
    if scorer is None:
        # the fallback extractor learns the shop's aspects from its reviews (the latest ones), not from
        # the few being analysed: a term is an aspect when several reviews of several products name it
        rows = list(Review.objects.order_by("-pk").values_list("title", "text", "product_id")[:CORPUS_REVIEWS])
        scorer = load_scorer(
            [review_text(title, text) for title, text, _ in rows], sources=[p for *_, p in rows],
            chinese_corpus=chinese_corpus(),
        )
    ready = scorer
    analyzed, skipped = in_chunks(ids, CHUNK, lambda chunk: _analyze_chunk(chunk, ready, force=force), progress)
    return {"analyzed": analyzed, "skipped": skipped}


def _analyze_chunk(ids: list[int], scorer: Scorer, *, force: bool) -> tuple[int, int]:
    reviews = list(Review.objects.filter(pk__in=ids).select_related("insight").order_by("pk"))
    todo: list[tuple[Review, str, str]] = []
    for review in reviews:
        text = review_text(review.title, review.text)
        digest = content_hash(text, scorer.text_key(text, review.language))
        existing = getattr(review, "insight", None)
        if not force and existing is not None and existing.text_hash == digest:
            continue
        todo.append((review, text, digest))
    if not todo:
        return 0, len(reviews)
    scores = scorer.score([t for _, t, _ in todo], [r.language for r, _, _ in todo])
    now = timezone.now()
    rows = [
        ReviewInsight(
            review=review,
            text_hash=digest,
            language=score.language,
            sentiment=score.sentiment,
            sentiment_score=score.sentiment_score,
            polarity=score.polarity,
            aspects=score.aspects,
            embedding=score.embedding,
            sentiment_model=score.sentiment_model,
            aspect_model=None if score.language in scorer.aspects_by_language else scorer.aspect_version,
            embedding_model=getattr(scorer.embedder, "version", ""),
            processed_at=now,
        )
        for (review, _, digest), score in zip(todo, scores, strict=True)
    ]
    fields = [
        "text_hash",
        "language",
        "sentiment",
        "sentiment_score",
        "polarity",
        "aspects",
        "embedding",
        "sentiment_model",
        "aspect_model",
        "embedding_model",
        "processed_at",
    ]
    with transaction.atomic():
        ReviewInsight.objects.bulk_create(rows, update_conflicts=True, unique_fields=["review"], update_fields=fields)
    return len(rows), len(reviews) - len(rows)
