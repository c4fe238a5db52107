"""analyze_reviews as chunk tasks with the real packaged models: every review analysed once across chunks,
the scorer built once per worker process (not once per chunk), a chunk run again analysing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from catalog import worker_scorer
from catalog.models import ReviewInsight
from jobs import chunks
from jobs.models import Job, JobChunk, JobStatus
from jobs.runner import start_job

from .test_analyze import _reviews


@pytest.mark.slow
@pytest.mark.django_db
def test_analysis_in_chunks_loads_the_models_once_and_analyses_each_review_once(
    run_on_commit: Any, settings: Any
) -> None:
    settings.JOB_CHUNK_SIZE = 3
    reviews = _reviews(8)
    built = worker_scorer.builds()
    job = start_job("analyze_reviews", {"then_products": False})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks.count() == 3  # 8 reviews, 3 per chunk
    assert job.result == {"analyzed": 8, "skipped": 0} and job.counts == {"analyzed": 8, "skipped": 0}
    assert worker_scorer.builds() == built + 1  # one process ran the three chunks: one scorer
    assert ReviewInsight.objects.count() == len(reviews)
    assert not Job.objects.filter(kind="product_insights").exists()

    again = JobChunk.objects.get(job=job, index=0)
    JobChunk.objects.filter(pk=again.pk).update(status=JobStatus.QUEUED)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    assert chunks.execute_chunk(again.pk) == JobStatus.SUCCEEDED
    again.refresh_from_db()
    assert again.counts == {"analyzed": 0, "skipped": 3}  # unchanged texts and models: nothing redone
    assert worker_scorer.builds() == built + 1
