"""Job kinds of recommendations: train the recommender, precompute top-k for an audience. Thin: the work is in
training.py and precompute.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from catalog.model_versions import new_version_name
from catalog.models import ModelRole
from jobs.chunks import ChunkContext, Plan, chunk_size, id_ranges
from jobs.params import between
from jobs.runner import Chunked, JobContext, job_kind

from .precompute import audience_ids, check_k, customers_in_range, precompute_slice
from .ranking import Ranker
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


PRECOMPUTE_CHUNK_SIZE = 5_000  # customers per chunk task (JOB_CHUNK_SIZE overrides): ~10-30 s of ranking


def _precompute_chunk(
    ctx: ChunkContext, k: int, now: str, first: int | None = None, last: int | None = None,
    ids: list[int] | None = None, size: int = 0, model_version: int | None = None,
) -> dict[str, Any]:
    """One chunk: a range of everyone's ids (read now) or the listed ids of a chosen audience."""
    chosen = ids if ids is not None else customers_in_range(int(first or 0), int(last or 0))
    ctx.set_total(len(chosen))
    return precompute_slice(chosen, k=k, job_id=ctx.job.pk, now=datetime.fromisoformat(now), progress=ctx)


def _precompute_finish(ctx: JobContext, k: int, now: str, model_version: int | None) -> dict[str, Any]:
    return {**{key: ctx.job.counts.get(key, 0) for key in ("customers", "personalised", "fallback", "empty")},
            "model_version": model_version}


@job_kind(
    "precompute_recommendations",
    queue="inference",  # a customer without a profile is ranked on their embedded searches
    description="Rank top-k products for customers (ids, segments or everyone) into RecommendationSet rows.",
    checks={"k": between(1, 100)},
    chunks=Chunked(run=_precompute_chunk, finish=_precompute_finish),
)
def precompute_recommendations_job(
    ctx: JobContext,
    customer_ids: list[int] | None = None,
    segment_keys: list[str] | None = None,
    k: int = 10,
) -> Plan:
    """Plans chunks of customers (`JOB_CHUNK_SIZE`, default 5,000): id ranges for everyone, id lists for a
    chosen audience; each chunk task ranks and upserts its customers' sets on whichever worker takes it."""
    check_k(k)
    ids = audience_ids(customer_ids, segment_keys)
    ctx.set_total(len(ids))
    size = chunk_size(PRECOMPUTE_CHUNK_SIZE)
    if customer_ids is None and segment_keys is None:
        chunks = id_ranges(ids, size)
    else:
        chunks = [{"ids": ids[start : start + size]} for start in range(0, len(ids), size)]
    version = Ranker.active().version
    shared = {"k": int(k), "now": timezone.now().isoformat(), "model_version": version.pk if version else None}
    return Plan(chunks, shared)
