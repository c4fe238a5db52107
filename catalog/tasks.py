"""Job kinds and Celery tasks of the catalog. Thin: the work is in `insights/`, the trainers,
`product_embeddings` and `summaries`."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.actors import Actor
from jobs.chunks import ChunkContext, Plan, chunk_size
from jobs.models import Job
from jobs.params import between
from jobs.runner import Chunked, JobContext, job_kind, start_job, start_unless_queued

from . import aspect_training, product_embeddings, sentiment_training
from .incremental import ids_to_do
from .insights.products import compute_product_insights
from .insights.reviews import analyze_reviews, pending_reviews
from .model_versions import new_version_name
from .models import ModelRole, Review
from .sentiment_data import NotEnoughData, load_database_by_language, load_training_data
from .summaries.summarizing import summarize_products, top_product_ids
from .worker_scorer import worker_scorer

ANALYZE_CHUNK_SIZE = 1_000  # reviews per chunk task (JOB_CHUNK_SIZE overrides): a minute or so on 2 CPU cores


def _analyze_chunk(
    ctx: ChunkContext, ids: list[int], force: bool = False, then_products: bool = True
) -> dict[str, Any]:
    """One chunk of review ids, scored by this worker process's scorer (loaded once per process); a review
    whose text and models are unchanged is skipped, so a chunk run twice analyses nothing twice."""
    counts = analyze_reviews(ids, progress=ctx, scorer=worker_scorer(), force=force)
    ctx.count(**counts)
    return counts


def _analyze_finish(ctx: JobContext, force: bool = False, then_products: bool = True) -> dict[str, Any]:
    counts = {"analyzed": ctx.job.counts.get("analyzed", 0), "skipped": ctx.job.counts.get("skipped", 0)}
    if then_products and counts["analyzed"]:
        start_job("product_insights", {})
    return counts


@job_kind(
    "analyze_reviews", queue="inference", description="Sentiment, aspects and embeddings of reviews.",
    chunks=Chunked(run=_analyze_chunk, finish=_analyze_finish),
)
def analyze_reviews_job(
    ctx: JobContext, review_ids: list[int] | None = None, force: bool = False, then_products: bool = True
) -> Plan:
    """Analyse pending reviews (or the given ones) in chunk tasks of `JOB_CHUNK_SIZE` (default 1,000), then
    refresh the insight of the products touched."""
    ids = ids_to_do(Review.objects.all(), pending_reviews(), review_ids, force=bool(force))
    ctx.set_total(len(ids))
    size = chunk_size(ANALYZE_CHUNK_SIZE)
    chunks = [{"ids": ids[start : start + size]} for start in range(0, len(ids), size)]
    return Plan(chunks, {"force": bool(force), "then_products": bool(then_products)})


@job_kind("product_insights", description="Pain points, praised aspects, topics and needs per product.")
def product_insights_job(ctx: JobContext, product_ids: list[int] | None = None, force: bool = False) -> dict[str, Any]:
    counts = compute_product_insights(product_ids, progress=ctx, force=force)
    ctx.count(**counts)
    return counts


@job_kind("embed_products", queue="inference", description="Embed product texts (title, category, brand).")
def embed_products_job(ctx: JobContext, product_ids: list[int] | None = None, force: bool = False) -> dict[str, Any]:
    """Embed pending products (or the given ones); unchanged texts are skipped."""
    counts = product_embeddings.embed_products(product_ids, force=force, progress=ctx)
    ctx.count(**counts)
    return counts


def _check_sentiment_path(path: str | None) -> None:
    """No path means training from the database; a path must be under the uploads folder."""
    if path:
        sentiment_training.check_job_path(path)


@job_kind(
    "train_sentiment", queue="inference",
    description="Train the sentiment model of each language (or one) on rated or labelled reviews.",
    checks={
        "path": _check_sentiment_path,
        "name": new_version_name(ModelRole.SENTIMENT, "a sentiment model"),
        "epochs": between(1, 1000), "max_per_class": between(1, 10_000_000),
        "validation_fraction": between(0.01, 0.9), "patience": between(0, 100),
    },
)
def train_sentiment_job(
    ctx: JobContext,
    path: str | None = None,
    text_column: str | None = None,
    rating_column: str | None = None,
    title_column: str | None = None,
    binary_labels: bool = False,
    epochs: int | None = None,
    max_per_class: int | None = None,
    validation_fraction: float = 0.15,
    seed: int = 0,
    name: str | None = None,
    activate: bool = True,
    label_column: str | None = None,
    language: str | None = None,
    only_missing: bool = False,
    patience: int = 1,
) -> dict[str, Any]:
    """Train from an uploaded file, or from the database (one model per language with enough rated
    reviews, or only `language`); record each version and activate it if it is better. `only_missing`
    (the demo's start): train from the database only languages without an active model, and let a
    language with too few reviews go untrained instead of failing."""
    options: dict[str, Any] = {
        "epochs": None if epochs is None else int(epochs),
        "max_per_class": None if max_per_class is None else int(max_per_class), "patience": int(patience),
        "validation_fraction": float(validation_fraction), "seed": int(seed), "activate": bool(activate),
        "progress": ctx, "job_id": ctx.job.pk,
    }
    if not path and (not language or only_missing):
        sets = load_database_by_language()
        if language:
            sets = {language: sets[language]} if language in sets else {}
        if only_missing:
            sets = {code: data for code, data in sets.items() if not sentiment_training.has_active_model(code)}
            if not sets:
                return {"languages": {}, "refused": {}, "trained": 0}
        try:
            result = sentiment_training.train_languages(sets, name=name, **options)
        except NotEnoughData as exc:
            if not only_missing:
                raise
            return {"languages": {}, "refused": {language or "all": str(exc)}, "trained": 0}
        ctx.count(reviews=sum(len(d.texts) for d in sets.values()), skipped=sum(d.skipped for d in sets.values()))
        return sentiment_training.languages_summary(result)
    if path:
        sentiment_training.check_job_path(path)
    data = load_training_data(
        path, text_column=text_column, rating_column=rating_column, title_column=title_column,
        binary_labels=bool(binary_labels), label_column=label_column, language=language,
    )
    outcome = sentiment_training.train_and_register(data, name=name, **options)
    ctx.count(reviews=len(data.texts), skipped=data.skipped)
    return sentiment_training.outcome_summary(outcome)


@job_kind(
    "train_aspects", queue="inference", description="Fine-tune the aspect tagger on a labelled file.",
    checks={
        "path": aspect_training.check_job_path, "epochs": between(1, 1000),
        "name": new_version_name(ModelRole.ASPECTS, "an aspect model"),
    },
)
def train_aspects_job(
    ctx: JobContext,
    path: str,
    epochs: int = aspect_training.DEFAULT_EPOCHS,
    seed: int = 0,
    name: str | None = None,
    activate: bool = True,
) -> dict[str, Any]:
    """Train from `path` (under the uploads folder), record the version, activate it if it is better."""
    aspect_training.check_job_path(path)
    outcome = aspect_training.train_aspects(
        path, epochs=int(epochs), seed=int(seed), name=name, activate=bool(activate), progress=ctx, job_id=ctx.job.pk
    )
    ctx.count(sentences=outcome.data["sentences"], terms=outcome.data["terms"])
    return aspect_training.outcome_summary(outcome)


def request_product_embedding(user: Actor = None) -> Job | None:
    """Start an embedding of pending products after products are created or edited."""
    return start_unless_queued("embed_products", user)


def request_review_analysis(user: Actor = None) -> Job | None:
    """Start an analysis of pending reviews after new or edited reviews arrive."""
    return start_unless_queued("analyze_reviews", user)


@shared_task(name="catalog.request_review_analysis")
def request_review_analysis_task() -> int | None:
    """Beat entry point: analyse whatever reviews arrived or changed since the last run."""
    job = request_review_analysis()
    return None if job is None else job.pk


@job_kind(
    "summarize_products",
    queue="generation",
    description="Short grounded summaries of products' review insight (generation model, cached).",
    checks={"top": between(1, 100_000)},
    validate=lambda p: _check_summary_choice(p.get("product_ids"), p.get("top")),
)
def summarize_products_job(
    ctx: JobContext, product_ids: list[int] | None = None, top: int | None = None, force: bool = False
) -> dict[str, int]:
    """Summarise the given products, or the `top` N by review count."""
    _check_summary_choice(product_ids, top)
    if top is not None and (not isinstance(top, int) or top < 1):
        raise ValueError(f"top={top!r} must be a whole number of at least 1")
    ids = [int(pid) for pid in product_ids] if product_ids is not None else top_product_ids(int(top or 0))
    counts = summarize_products(ids, progress=ctx, force=force)
    ctx.count(**counts)
    return counts


def _check_summary_choice(product_ids: list[int] | None, top: int | None) -> None:
    if product_ids is None and top is None:
        raise ValueError("summarize_products needs `product_ids` (a list of ids) or `top` (a number of products)")
    if product_ids is not None and top is not None:
        raise ValueError("summarize_products takes `product_ids` or `top`, not both")
