"""The job runner in-process (Celery eager): progress, failure, retry, cancel, claim."""

from typing import Any

import pytest

from jobs import runner
from jobs.models import Job, JobStatus
from tests.jobs.builders import job as build_job

pytestmark = pytest.mark.django_db


def test_job_runs_and_records_progress_and_counts(run_on_commit: Any, manager: Any) -> None:
    job = runner.start_job("ping", {"steps": 4}, user=manager)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.progress) == (4, 4, 1.0)
    assert job.counts == {"pings": 4}
    assert "worker" in job.result
    assert job.created_by == manager
    assert job.attempts == 1
    assert job.started_at is not None and job.finished_at is not None


def test_failed_job_keeps_progress_and_error_then_retries(run_on_commit: Any) -> None:
    job = runner.start_job("ping", {"steps": 2, "fail": True})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "RuntimeError: ping asked to fail" in job.error
    assert job.progress_done == 2  # progress made before the failure stays visible

    Job.objects.filter(pk=job.pk).update(params={"steps": 2})  # e.g. the cause was fixed
    runner.retry_job(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert job.error == ""


def test_only_failed_or_cancelled_jobs_can_be_retried(run_on_commit: Any) -> None:
    job = runner.start_job("ping", {"steps": 1})
    job.refresh_from_db()
    with pytest.raises(ValueError, match="only failed or cancelled"):
        runner.retry_job(job)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(runner.UnknownJobKind, match="unknown job kind 'nope'"):
        runner.start_job("nope")


def test_a_job_is_claimed_once() -> None:
    job = build_job()
    assert runner.execute(job.pk) == JobStatus.SUCCEEDED
    assert runner.execute(job.pk) is None  # a duplicate delivery finds it finished
    job.refresh_from_db()
    assert job.attempts == 1


def test_redelivery_after_a_lost_worker_runs_the_job_again() -> None:
    job = build_job(status=JobStatus.RUNNING)
    assert runner.execute(job.pk) is None  # a second copy must not run a job another worker holds
    assert runner.execute(job.pk, redelivered=True) == JobStatus.SUCCEEDED


def test_cancelling_a_running_job_stops_it_at_its_next_progress_update() -> None:
    seen: list[int] = []

    @runner.job_kind("test_cancel_midway")
    def cancel_midway(ctx: runner.JobContext) -> None:
        ctx.set_total(10)
        for i in range(10):
            if i == 3:
                runner.cancel_job(ctx.job)
            ctx.advance(1)
            ctx.flush(force=True)
            seen.append(i)

    job = build_job(kind="test_cancel_midway", params={})
    assert runner.execute(job.pk) == JobStatus.CANCELLED
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert seen == [0, 1, 2]


def test_cancel_of_a_queued_job_means_it_never_runs() -> None:
    job = build_job()
    assert runner.cancel_job(job)
    assert runner.execute(job.pk) is None
    assert not runner.cancel_job(job)  # already finished
