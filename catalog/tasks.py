"""Job kinds of the catalog: review analysis and product insight. Thin: the work is in insights.py."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction

from jobs.models import Job, JobStatus
from jobs.runner import JobContext, job_kind, start_job

from . import insights, product_embeddings

# Job kinds defined beside their domain code register on import.
from . import aspect_training, sentiment_training, summaries  # noqa: F401  isort: skip


@job_kind("analyze_reviews", queue="inference", description="Sentiment, aspects and embeddings of reviews.")
def analyze_reviews_job(
    ctx: JobContext, review_ids: list[int] | None = None, force: bool = False, then_products: bool = True
) -> dict[str, Any]:
    """Analyse pending reviews (or the given ones), then refresh the insight of the products touched."""
    counts = insights.analyze_reviews(review_ids, progress=ctx.advance, set_total=ctx.set_total, force=force)
    ctx.count(**counts)
    if then_products and counts["analyzed"]:
        start_job("product_insights", {})
    return counts


@job_kind("product_insights", description="Pain points, praised aspects, topics and needs per product.")
def product_insights_job(ctx: JobContext, product_ids: list[int] | None = None, force: bool = False) -> dict[str, Any]:
    counts = insights.compute_product_insights(product_ids, progress=ctx.advance, set_total=ctx.set_total, force=force)
    ctx.count(**counts)
    return counts


@job_kind("embed_products", queue="inference", description="Embed product texts (title, category, brand).")
def embed_products_job(ctx: JobContext, product_ids: list[int] | None = None, force: bool = False) -> dict[str, Any]:
    """Embed pending products (or the given ones); unchanged texts are skipped."""
    counts = product_embeddings.embed_products(product_ids, force=force, progress=ctx.advance, set_total=ctx.set_total)
    ctx.count(**counts)
    return counts


def request_product_embedding(user: Any = None) -> Job | None:
    """Start an embedding of pending products after products are created or edited, unless one is
    already queued. Like `request_review_analysis`, nothing starts in eager mode (no worker)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    with transaction.atomic():
        if Job.objects.filter(kind="embed_products", status=JobStatus.QUEUED).exists():
            return None
        return start_job("embed_products", {}, user=user)


def request_review_analysis(user: Any = None) -> Job | None:
    """Start an analysis of pending reviews after new or edited reviews arrive, unless one is already
    queued (it will pick these up too). Without a worker (eager mode) nothing is started here: the
    schedule or an explicit job does it, so an API call never waits for a model."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    with transaction.atomic():
        if Job.objects.filter(kind="analyze_reviews", status=JobStatus.QUEUED).exists():
            return None
        return start_job("analyze_reviews", {}, user=user)


@shared_task(name="catalog.request_review_analysis")
def request_review_analysis_task() -> int | None:
    """Beat entry point: analyse whatever reviews arrived or changed since the last run."""
    job = request_review_analysis()
    return None if job is None else job.pk


# The summaries job kind (its work is in catalog/summaries/); the import stays beside it so this block
# merges cleanly while the rest of this file is being rewritten: hoist it into the imports above.
from .summaries.summarizing import summarize_products, top_product_ids  # noqa: E402


@job_kind(
    "summarize_products",
    queue="inference",
    description="Short grounded summaries of products' review insight (generation model, cached).",
)
def summarize_products_job(
    ctx: JobContext, product_ids: list[int] | None = None, top: int | None = None, force: bool = False
) -> dict[str, int]:
    """Summarise the given products, or the `top` N by review count."""
    if product_ids is None and top is None:
        raise ValueError("summarize_products needs `product_ids` (a list of ids) or `top` (a number of products)")
    if product_ids is not None and top is not None:
        raise ValueError("summarize_products takes `product_ids` or `top`, not both")
    if top is not None and (not isinstance(top, int) or top < 1):
        raise ValueError(f"top={top!r} must be a whole number of at least 1")
    ids = [int(pid) for pid in product_ids] if product_ids is not None else top_product_ids(int(top or 0))
    counts = summarize_products(ids, progress=ctx, force=force)
    ctx.count(**counts)
    return counts
