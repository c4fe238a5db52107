"""Top-k recommendations for a whole audience at once, stored as `RecommendationSet` rows that campaigns read.

An audience is a list of customer ids, the members of segments (lifecycle or behavioural keys), or everyone.
The active version's ranker is built once per process; each chunk of customers is ranked with a fixed number of
queries. The `precompute_recommendations` job fans the audience out into chunk tasks (`precompute_slice` per
chunk, on any worker); this module's `precompute_recommendations` runs the whole audience in one process.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress
from customers.models import Customer, CustomerProfile, Segment

from .models import RecommendationSet
from .ranking import Ranker

PRECOMPUTE_CHUNK = 500  # customers per chunk: one ALS matrix product of 500 x items floats (200 MB at 100k items)


def audience_ids(customer_ids: Sequence[int] | None = None, segment_keys: Sequence[str] | None = None) -> list[int]:
    """Customer ids of an audience: the given ids, the members of the given segments, or everyone (erased
    customers never: their rows stay only for accounts and experiment counts)."""
    if customer_ids is not None:
        return sorted(set(
            Customer.objects.filter(pk__in=list(customer_ids), erased_at__isnull=True).values_list("pk", flat=True)
        ))
    if segment_keys is not None:
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
    return list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", flat=True))


def precompute_recommendations(
    *,
    customer_ids: Sequence[int] | None = None,
    segment_keys: Sequence[str] | None = None,
    k: int = 10,
    job_id: int | None = None,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
) -> dict[str, Any]:
    """Rank top-k for an audience into `RecommendationSet` rows (one upsert per chunk; re-running rewrites).

    The version's tables are loaded once; each chunk reads contexts in three queries, scores ALS for the whole
    chunk in one matrix product, and runs one content query per customer with a profile vector.
    """
    check_k(k)
    ids = audience_ids(customer_ids, segment_keys)
    progress.set_total(len(ids))
    counts = precompute_slice(ids, k=k, job_id=job_id, now=now, progress=progress)
    ranker = Ranker.active()
    counts["model_version"] = ranker.version.pk if ranker.version else None
    return counts


def check_k(k: int) -> None:
    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")


def precompute_slice(
    ids: Sequence[int],
    *,
    k: int = 10,
    job_id: int | None = None,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
) -> dict[str, Any]:
    """Rank and store top-k for these customers, PRECOMPUTE_CHUNK at a time (one upsert each: re-running a
    slice rewrites the same rows, so a chunk delivered twice changes nothing). Returns the counts; progress
    advances by customers without a total (the caller knows the whole)."""
    check_k(k)
    ranker = Ranker.active()
    now = now or timezone.now()
    counts: dict[str, Any] = {"customers": 0, "personalised": 0, "fallback": 0, "empty": 0}
    for start in range(0, len(ids), PRECOMPUTE_CHUNK):
        chunk = list(ids[start : start + PRECOMPUTE_CHUNK])
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
        progress.advance(len(chunk), **chunk_counts)
    return counts


def customers_in_range(first: int, last: int) -> list[int]:
    """The customers (not erased) with ids in [first, last]: a chunk of an everyone-audience, read when the
    chunk runs so its parameters stay two numbers."""
    return list(
        Customer.objects.filter(pk__gte=first, pk__lte=last, erased_at__isnull=True).order_by("pk")
        .values_list("pk", flat=True)
    )
