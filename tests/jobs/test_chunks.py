"""Chunked jobs in-process (Celery eager): plan once, progress summed from the chunks, the finish step once,
cancel, retry of one failed chunk, a duplicate delivery changing nothing, the reaper taking chunks back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs import chunks, runner
from jobs.models import Job, JobChunk, JobStatus

pytestmark = pytest.mark.django_db


def test_a_chunked_job_plans_runs_its_chunks_and_finishes_once(run_on_commit: Any) -> None:
    job = runner.start_job("ping_chunks", {"chunks": 3, "steps": 4})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total, job.progress) == (12, 12, 1.0)
    assert job.counts == {"pings": 12, "finished": 1}  # summed over the chunks; the finish step ran once
    assert job.result["chunks"] == 3 and job.result["workers"]
    assert job.plan == {"chunks": 3, "shared": {}}
    assert [(c.index, c.status, c.counts) for c in job.chunks.all()] == [
        (i, JobStatus.SUCCEEDED, {"pings": 4}) for i in range(3)
    ]
    # the plan, the chunks and the finish step never run again for this job
    assert chunks.finish_once(job.pk) is None
    assert runner.execute(job.pk) is None


def test_a_duplicate_delivery_of_a_chunk_changes_nothing(run_on_commit: Any) -> None:
    job = runner.start_job("ping_chunks", {"chunks": 2, "steps": 3})
    chunk = JobChunk.objects.get(job=job, index=0)
    assert chunks.execute_chunk(chunk.pk) is None  # delivered again: already succeeded
    assert chunks.execute_chunk(chunk.pk, redelivered=True, task_id="another") is None
    job.refresh_from_db()
    chunk.refresh_from_db()
    assert (chunk.attempts, chunk.counts) == (1, {"pings": 3})
    assert job.counts == {"pings": 6, "finished": 1}


def test_one_failed_chunk_fails_the_job_and_is_retried_alone(run_on_commit: Any) -> None:
    job = runner.start_job("ping_chunks", {"chunks": 3, "steps": 2, "fail_index": 1})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("1 of 3 chunk(s) failed (first: chunk 1: RuntimeError: ping chunk 1 asked to fail)")
    statuses = dict(job.chunks.values_list("index", "status"))
    assert statuses == {0: JobStatus.SUCCEEDED, 1: JobStatus.FAILED, 2: JobStatus.SUCCEEDED}
    assert job.counts == {"pings": 6}  # the failed chunk's work before it failed is shown too

    failed = JobChunk.objects.get(job=job, index=1)
    JobChunk.objects.filter(pk=failed.pk).update(params={**failed.params, "fail_index": None})  # cause fixed
    chunks.retry_chunk(failed)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.error == ""
    assert job.counts == {"pings": 6, "finished": 1}  # the retried chunk counted once
    assert list(job.chunks.values_list("index", "attempts")) == [(0, 1), (1, 2), (2, 1)]
    with pytest.raises(ValueError, match="only a failed chunk can be retried"):
        chunks.retry_chunk(failed)


def test_cancel_stops_queued_chunks_and_running_ones_at_their_next_flush() -> None:
    job = Job.objects.create(kind="ping_chunks", params={"chunks": 3, "steps": 2}, status=JobStatus.RUNNING)
    runner.chunks.plan_once(job, runner.JobContext(job), runner.registered_kinds()["ping_chunks"])
    first, second, third = job.chunks.order_by("index")
    JobChunk.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING)
    assert runner.cancel_job(job)
    assert list(job.chunks.order_by("index").values_list("status", flat=True)) == [
        JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.CANCELLED
    ]
    ctx = chunks.ChunkContext(JobChunk.objects.get(pk=first.pk), job)
    with pytest.raises(runner.JobCancelled):
        ctx.advance(1, pings=1)
    assert chunks.execute_chunk(second.pk) is None  # a queued chunk's task arriving late never runs
    third.refresh_from_db()
    assert third.status == JobStatus.CANCELLED and third.attempts == 0


def test_a_retried_cancelled_job_resumes_with_its_done_chunks_kept(run_on_commit: Any) -> None:
    job = Job.objects.create(kind="ping_chunks", params={"chunks": 2, "steps": 2}, status=JobStatus.RUNNING)
    runner.chunks.plan_once(job, runner.JobContext(job), runner.registered_kinds()["ping_chunks"])
    done = job.chunks.get(index=0)
    chunks.execute_chunk(done.pk)
    runner.cancel_job(job)
    with pytest.raises(ValueError, match="was cancelled: retry the job"):
        chunks.retry_chunk(job.chunks.get(index=1))
    runner.retry_job(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert list(job.chunks.values_list("attempts", flat=True)) == [1, 1]  # chunk 0 not redone
    assert job.counts == {"pings": 4, "finished": 1}


def test_the_reaper_queues_a_chunk_whose_worker_died_and_it_finishes_once(run_on_commit: Any) -> None:
    job = Job.objects.create(kind="ping_chunks", params={"chunks": 2, "steps": 3}, status=JobStatus.RUNNING)
    runner.chunks.plan_once(job, runner.JobContext(job), runner.registered_kinds()["ping_chunks"])
    lost, other = job.chunks.order_by("index")
    chunks.execute_chunk(other.pk)
    old = timezone.now() - timedelta(minutes=10)
    JobChunk.objects.filter(pk=lost.pk).update(
        status=JobStatus.RUNNING, attempts=1, heartbeat_at=old, progress_done=2, counts={"pings": 2}
    )
    Job.objects.filter(pk=job.pk).update(heartbeat_at=old)  # the parent is not reaped as a job
    counts = runner.reap_stale_jobs()
    assert counts["chunks_requeued"] == 1 and counts["requeued"] == 0
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.counts == {"pings": 6, "finished": 1}  # the redone chunk counted once
    lost.refresh_from_db()
    assert lost.attempts == 2


def test_a_job_planned_with_no_chunk_finishes_at_once(run_on_commit: Any) -> None:
    job = Job.objects.create(kind="ping_chunks", params={"chunks": 1, "steps": 0})
    assert runner.execute(job.pk) == JobStatus.SUCCEEDED


def test_api_shows_chunk_counts_lists_chunks_and_retries_one(run_on_commit: Any, manager_client: Any) -> None:
    response = manager_client.post(
        "/api/v1/jobs/", {"kind": "ping_chunks", "params": {"chunks": 2, "steps": 1, "fail_index": 0}}, format="json"
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    body = manager_client.get(f"/api/v1/jobs/{job_id}/").json()
    assert body["status"] == "failed" and body["progress_done"] == 2
    assert body["chunks"] == {"total": 2, "queued": 0, "running": 0, "succeeded": 1, "failed": 1, "cancelled": 0}
    listed = manager_client.get(f"/api/v1/jobs/{job_id}/chunks/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(c["index"], c["status"]) for c in rows] == [(0, "failed"), (1, "succeeded")]
    assert "asked to fail" in rows[0]["error"]
    assert manager_client.post(f"/api/v1/jobs/{job_id}/chunks/1/retry/").status_code == 409  # not failed
    assert manager_client.post(f"/api/v1/jobs/{job_id}/chunks/7/retry/").status_code == 404
    JobChunk.objects.filter(job_id=job_id, index=0).update(params={"steps": 1, "index": 0})
    retried = manager_client.post(f"/api/v1/jobs/{job_id}/chunks/0/retry/")
    assert retried.status_code == 202, retried.content
    assert manager_client.get(f"/api/v1/jobs/{job_id}/").json()["status"] == "succeeded"
    plain = manager_client.post("/api/v1/jobs/", {"kind": "ping", "params": {"steps": 1}}, format="json").json()
    assert plain["chunks"] is None  # a job run as one task


def test_admin_shows_the_chunks_and_retries_a_failed_one(run_on_commit: Any, admin_client: Any) -> None:
    job = runner.start_job("ping_chunks", {"chunks": 2, "steps": 1, "fail_index": 1})
    page = admin_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "1 of 2 chunk(s) failed (first: chunk 1: RuntimeError: ping chunk 1 asked to fail)" in page
    assert "Job chunks" in page and "ping chunk 1 asked to fail" in page
    failed = JobChunk.objects.get(job=job, index=1)
    JobChunk.objects.filter(pk=failed.pk).update(params={**failed.params, "fail_index": None})
    response = admin_client.post(
        "/admin/jobs/jobchunk/", {"action": "retry_chunks", "_selected_action": [failed.pk]}, follow=True
    )
    assert "1 chunk(s) queued again; 0 skipped (not failed)." in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.counts == {"pings": 2, "finished": 1}
