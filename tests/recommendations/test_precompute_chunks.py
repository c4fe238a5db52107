"""precompute_recommendations in chunk tasks: the same sets as one process, whatever the chunk size."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import Customer
from jobs.models import JobStatus
from jobs.runner import start_job
from recommendations.models import RecommendationSet

from .conftest import Shop

pytestmark = pytest.mark.django_db


def test_precompute_in_chunks_of_two_covers_everyone_once(
    trained_shop: Shop, run_on_commit: None, settings: Any
) -> None:
    settings.JOB_CHUNK_SIZE = 2
    job = start_job("precompute_recommendations", {"k": 4})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    customers = Customer.objects.filter(erased_at__isnull=True).count()
    assert job.chunks.count() == (customers + 1) // 2
    assert job.result["customers"] == customers == RecommendationSet.objects.count()
    assert job.result["model_version"] == trained_shop.extra["version"].pk
    assert job.counts["customers"] == customers and job.progress_done == job.progress_total == customers
    alice = trained_shop.customers["alice"]
    in_chunks = RecommendationSet.objects.get(customer=alice).items

    settings.JOB_CHUNK_SIZE = 0  # the kind's default: one chunk here
    again = start_job("precompute_recommendations", {"k": 4, "customer_ids": [alice.pk]})
    again.refresh_from_db()
    assert again.chunks.count() == 1 and again.chunks.get().params == {"ids": [alice.pk]}
    assert [i["product"] for i in RecommendationSet.objects.get(customer=alice).items] == [
        i["product"] for i in in_chunks
    ]
