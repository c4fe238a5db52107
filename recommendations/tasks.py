"""Job kinds of recommendations: train the recommender, precompute top-k for an audience. Thin: the work is in
training.py and precompute.py."""

from __future__ import annotations

from typing import Any

from catalog.model_versions import new_version_name
from catalog.models import ModelRole
from jobs.params import between
from jobs.runner import JobContext, job_kind

from .precompute import precompute_recommendations
from .training import train_recommender


@job_kind(
    "train_recommender",
    queue="default",
    description="Fit the hybrid recommender on the shop's events, measure its fusion, activate the version.",
    checks={"name": new_version_name(ModelRole.RECOMMENDER, "a recommender")},
)
def train_recommender_job(ctx: JobContext, name: str | None = None, activate: bool = True) -> dict[str, Any]:
    version = train_recommender(name=name, job_id=ctx.job.pk, activate_version=activate, progress=ctx)
    return {
        "version": version.name,
        "version_id": version.pk,
        "active": version.is_active,
        "weights": version.params.get("weights", {}),
        "weights_source": version.params.get("weights_source", ""),
        "fusion": version.params.get("fusion", ""),
        "metrics": version.metrics,
    }


@job_kind(
    "precompute_recommendations",
    queue="inference",  # a customer without a profile is ranked on their embedded searches
    description="Rank top-k products for customers (ids, segments or everyone) into RecommendationSet rows.",
    checks={"k": between(1, 100)},
)
def precompute_recommendations_job(
    ctx: JobContext,
    customer_ids: list[int] | None = None,
    segment_keys: list[str] | None = None,
    k: int = 10,
) -> dict[str, Any]:
    return precompute_recommendations(
        customer_ids=customer_ids,
        segment_keys=segment_keys,
        k=k,
        job_id=ctx.job.pk,
        progress=ctx,
    )
