"""rebuild_profiles in chunk tasks: ranges of customers on one moment and event snapshot give the profiles of
a one-process rebuild; RFM, lifecycle sizes and segments run once, in the finish step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.moments import parse_now
from customers import profiles
from customers.models import CustomerProfile, Segment
from jobs.models import JobStatus
from jobs.runner import start_job
from tests.catalog.builders import product
from tests.customers.builders import customer, event

pytestmark = pytest.mark.django_db

NOW = "2025-06-01T12:00:00+00:00"


def test_a_chunked_rebuild_equals_a_rebuild_in_one_process(run_on_commit: Any, settings: Any) -> None:
    settings.JOB_CHUNK_SIZE = 2
    items = [product(embedding=[float(i == j) for j in range(384)]) for i in range(4)]
    people = [customer() for _ in range(5)]
    for n, person in enumerate(people):
        event(person, "view", product=items[n % 4], days_ago=n + 1)
        event(person, "purchase", product=items[(n + 1) % 4], days_ago=n + 2, value=10.0 * (n + 1), order_id=f"o{n}")
    job = start_job("rebuild_profiles", {"now": NOW})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks.count() == 3  # 5 customers, 2 per chunk
    assert job.result["profiles"] == 5 and job.counts["profiles"] == 5
    assert sum(job.result["lifecycle"].values()) == 5 and "segments" in job.result
    assert job.plan is not None and job.plan["shared"]["now"] == NOW
    chunked = {p.customer_id: (np.asarray(p.vector), p.lifecycle, p.rfm_score) for p in CustomerProfile.objects.all()}
    assert Segment.objects.filter(kind=Segment.Kind.LIFECYCLE).count() == 6

    profiles.rebuild_profiles(now=parse_now(NOW))
    for p in CustomerProfile.objects.all():
        vector, stage, rfm = chunked[p.customer_id]
        assert np.allclose(vector, np.asarray(p.vector), atol=1e-6)
        assert (stage, rfm) == (p.lifecycle, p.rfm_score)
