"""Jobs whose worker died: the heartbeat is read by the reaper, a resumed job counts its work once, and a
job created while the broker is down is sent later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs import runner
from jobs.models import Job, JobStatus
from tests.core.test_services import ROOT, _wait_for, broker_at, database_url
from tests.jobs.builders import job as build_job


def _stale(**fields: Any) -> Job:
    """A job a dead worker left running: its heartbeat stopped ten minutes ago."""
    old = timezone.now() - timedelta(minutes=10)
    return build_job(**{"status": JobStatus.RUNNING, "started_at": old, "heartbeat_at": old, "attempts": 1, **fields})


@pytest.mark.django_db
def test_a_running_job_without_heartbeat_is_queued_again_and_finishes(run_on_commit: Any) -> None:
    job = _stale(params={"steps": 3}, progress_done=2, counts={"pings": 2})
    alive = build_job(status=JobStatus.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    assert runner.reap_stale_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2  # eager: sent and run at once
    assert (job.progress_done, job.progress_total, job.counts) == (3, 3, {"pings": 3})  # counted once
    alive.refresh_from_db()
    assert alive.status == JobStatus.RUNNING  # a live worker's job is left alone


@pytest.mark.django_db
def test_a_job_whose_worker_dies_on_every_attempt_fails_with_a_reason(settings: Any) -> None:
    settings.JOB_MAX_ATTEMPTS = 3
    job = _stale(attempts=3)
    assert runner.reap_stale_jobs()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert "stopped (no heartbeat for" in job.error and "3 attempts" in job.error


@pytest.mark.django_db
def test_a_resumed_job_counts_its_redone_work_once() -> None:
    """A pool child died after flushing 4 of 6 rows; the redelivered task redoes the job from the start
    (idempotent), which used to add 6 more: progress 10/6 and counts disagreeing with the result."""

    @runner.job_kind("test_resumable")
    def resumable(ctx: runner.JobContext, rows: int = 6) -> dict[str, int]:
        ctx.set_total(rows)
        for _ in range(rows):
            ctx.advance(1, written=1)
        return {"written": rows}

    job = build_job(
        kind="test_resumable", params={}, status=JobStatus.RUNNING, progress_done=4, progress_total=6,
        counts={"written": 4}, attempts=1, heartbeat_at=timezone.now(),
    )
    assert runner.execute(job.pk, redelivered=True) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (6, 6)
    assert job.counts == job.result == {"written": 6}


@pytest.mark.django_db
def test_progress_never_exceeds_the_total() -> None:
    job = build_job(status=JobStatus.RUNNING)
    ctx = runner.JobContext(job)
    ctx.set_total(5)
    ctx.advance(7)
    assert job.progress_done == 5


@pytest.mark.django_db
def test_a_redelivered_message_does_not_take_a_job_the_reaper_gave_to_another_task() -> None:
    job = build_job(status=JobStatus.RUNNING, celery_task_id="new-task")
    assert runner.execute(job.pk, redelivered=True, task_id="old-task") is None
    assert runner.execute(job.pk, redelivered=True, task_id="new-task") == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_a_job_created_while_the_broker_is_down_is_queued_then_sent_by_the_reaper(
    run_on_commit: Any, manager_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = runner.current_app.tasks[runner.RUN_JOB_TASK]

    def broker_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(task, "apply_async", broker_down)
    response = manager_client.post("/api/v1/jobs/", {"kind": "ping", "params": {"steps": 2}}, format="json")
    assert response.status_code == 202, response.content  # not a 500
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.status, job.celery_task_id) == (JobStatus.QUEUED, "")

    monkeypatch.undo()  # the broker is back
    assert runner.reap_stale_jobs()["resent"] == 0  # too recent: its send may still be on the way
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert runner.reap_stale_jobs()["resent"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


# --- A real worker killed with SIGKILL -------------------------------------------------------------------

def _start_worker(broker: str, name: str) -> subprocess.Popen[str]:
    env = {
        **os.environ, "DATABASE_URL": database_url(), "REDIS_URL": broker, "CELERY_TASK_ALWAYS_EAGER": "0",
        "JOB_HEARTBEAT_SECONDS": "1", "JOB_HEARTBEAT_TIMEOUT": "3",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", "default,inference",
         "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,  # its own process group: SIGKILL to the group kills main process and children
    )


@pytest.fixture
def broker(private_redis: str) -> Iterator[str]:
    with broker_at(private_redis):
        yield private_redis


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_whole_worker_killed_mid_job_the_job_is_reaped_and_finishes_once(broker: str, settings: Any) -> None:
    settings.JOB_HEARTBEAT_TIMEOUT = 3
    first = _start_worker(broker, "doomed")
    try:
        job = runner.start_job("ping", {"steps": 60, "delay": 0.1})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == JobStatus.RUNNING and job.progress_done >= 5:
                break
            time.sleep(0.1)
        assert job.status == JobStatus.RUNNING and job.progress_done >= 5
        os.killpg(first.pid, signal.SIGKILL)  # main process and pool child, no goodbye
        first.wait(timeout=10)
    finally:
        _stop(first)
    time.sleep(4)  # longer than the heartbeat timeout
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # nobody else would ever move it
    second = _start_worker(broker, "rescuer")
    try:
        assert runner.reap_stale_jobs()["requeued"] == 1
        job = _wait_for(job, timeout=90)
    finally:
        _stop(second)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert (job.progress_done, job.progress_total, job.counts) == (60, 60, {"pings": 60})  # nothing twice


@pytest.mark.django_db  # the task looks up the job's kind for its metrics before it runs
def test_run_job_retries_with_backoff_while_the_database_is_away(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    from jobs.tasks import run_job

    calls: list[bool] = []

    def flaky(job_id: int, *, redelivered: bool = False, task_id: str | None = None) -> JobStatus:
        calls.append(redelivered)
        if len(calls) < 3:
            raise OperationalError("connection refused")
        return JobStatus.SUCCEEDED

    monkeypatch.setattr(runner, "execute", flaky)
    assert run_job.apply(args=(1,)).get() == "succeeded"
    assert calls == [False, True, True]  # a retry may take over its own running job
    options: Any = run_job  # Celery sets these on the task class; the stubs do not name them
    assert options.acks_late and options.retry_backoff and OperationalError in options.autoretry_for


@pytest.mark.django_db
def test_a_job_created_with_no_broker_listening_returns_at_once_and_stays_queued(run_on_commit: Any) -> None:
    with broker_at("redis://127.0.0.1:1/0"):  # nothing listens on port 1
        started = time.monotonic()
        job = runner.start_job("ping", {"steps": 1})
        took = time.monotonic() - started
    job.refresh_from_db()
    assert (job.status, job.celery_task_id) == (JobStatus.QUEUED, "")  # the reaper sends it later
    assert took < 10
