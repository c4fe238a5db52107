"""A chunked job across two real Celery worker processes, through a real broker: Redis (the embedded one,
always available) and RabbitMQ (skipped with the reason when none answers on RABBITMQ_URL, default
amqp://guest:guest@127.0.0.1:5672//). Progress summed while the chunks run, the finish step once, cancel,
retry of one failed chunk, and duplicate deliveries of every chunk changing nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import kombu
import pytest

from ecommarketing.celery import app as celery_app
from jobs import chunks, runner
from jobs.models import Job, JobChunk, JobStatus
from tests.core.test_services import ROOT, _wait_for, broker_at, database_url

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
QUEUES = ("default", "inference")


def _reachable(url: str) -> str | None:
    """None when a broker answers at `url`, else why not."""
    try:
        with kombu.Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _purge(url: str) -> None:
    """Drop messages a killed earlier run left in the queues (they would name chunks of another database)."""
    with kombu.Connection(url) as conn:
        channel: Any = conn.default_channel  # a virtual or amqp channel: both purge and declare
        for name in QUEUES:
            kombu.Queue(name, channel=channel).declare()
            channel.queue_purge(name)


def _waiting(url: str) -> int:
    """Messages not yet taken from the queues (taken ones are unacknowledged, not counted)."""
    waiting = 0
    with kombu.Connection(url) as conn:
        for name in QUEUES:
            with contextlib.suppress(*conn.channel_errors):  # Redis: an emptied queue's list is gone
                channel: Any = conn.default_channel
                waiting += channel.queue_declare(name, passive=True).message_count
    return waiting


def _start_worker(env: dict[str, str], name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", ",".join(QUEUES), "--pool", "solo",
         "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h"],
        env={**os.environ, "DATABASE_URL": database_url(), "CELERY_TASK_ALWAYS_EAGER": "0", **env},
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(params=["redis", "rabbitmq"])
def two_workers(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """Two worker processes on one broker; yields the broker's URL."""
    if request.param == "redis":
        url = request.getfixturevalue("private_redis")
        env = {"REDIS_URL": url}
    else:
        why = _reachable(RABBITMQ_URL)
        if why is not None:
            pytest.skip(f"no RabbitMQ at {RABBITMQ_URL} ({why}); set RABBITMQ_URL to test against one")
        url = RABBITMQ_URL
        env = {"CELERY_BROKER_URL": url, "REDIS_URL": ""}
        _purge(url)
    workers = [_start_worker(env, f"chunks-{request.param}-{i}") for i in range(2)]
    try:
        with broker_at(url):
            yield url
    finally:
        for worker in workers:
            _stop(worker)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_chunked_job_spreads_over_two_workers_on_each_broker(two_workers: str) -> None:
    url = two_workers
    # progress summed from the chunks while they run; two workers take them; the finish step runs once
    job = runner.start_job("ping_chunks", {"chunks": 6, "steps": 5, "delay": 0.1})
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen.add(job.progress_done)
        if job.is_finished:
            break
        time.sleep(0.05)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (30, 30)
    assert job.counts == {"pings": 30, "finished": 1}
    assert any(0 < done < 30 for done in seen)  # the job showed partial progress from its chunks
    assert len(job.result["workers"]) == 2, job.result  # both processes took chunks

    # every chunk delivered a second time through the broker: nothing changes
    for chunk_id in job.chunks.values_list("pk", flat=True):
        celery_app.tasks[chunks.RUN_CHUNK_TASK].apply_async(args=(chunk_id,), queue=job.queue)
    deadline = time.monotonic() + 60
    while _waiting(url) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # the last duplicates taken are checked and dropped
    job.refresh_from_db()
    assert job.counts == {"pings": 30, "finished": 1}
    assert set(job.chunks.values_list("attempts", flat=True)) == {1}

    # one chunk fails; the job fails naming it; the chunk alone is retried and the job finishes once
    failing = runner.start_job("ping_chunks", {"chunks": 3, "steps": 2, "fail_index": 1})
    failing = _wait_for(failing, timeout=90)
    assert failing.status == JobStatus.FAILED and "chunk 1: RuntimeError: ping chunk 1 asked to fail" in failing.error
    broken = failing.chunks.get(index=1)
    JobChunk.objects.filter(pk=broken.pk).update(params={**broken.params, "fail_index": None})
    chunks.retry_chunk(broken)
    failing = _wait_for(failing, timeout=90)
    assert failing.status == JobStatus.SUCCEEDED, failing.error
    assert failing.counts == {"pings": 6, "finished": 1}
    assert list(failing.chunks.values_list("attempts", flat=True)) == [1, 2, 1]

    # cancel while chunks run: running ones stop at their next flush, queued ones never start
    long = runner.start_job("ping_chunks", {"chunks": 8, "steps": 40, "delay": 0.05})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        long.refresh_from_db()
        if long.progress_done >= 5:
            break
        time.sleep(0.05)
    assert runner.cancel_job(long)
    deadline = time.monotonic() + 30
    while long.chunks.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    long.refresh_from_db()
    statuses = list(long.chunks.values_list("status", "attempts"))
    assert long.status == JobStatus.CANCELLED and long.finish_started_at is None
    assert all(status in (JobStatus.CANCELLED, JobStatus.SUCCEEDED) for status, _ in statuses), statuses
    assert sum(1 for status, attempts in statuses if status == JobStatus.CANCELLED and attempts == 0) >= 4
    assert long.progress_done < 320 and "finished" not in long.counts
    assert Job.objects.filter(pk=long.pk, status=JobStatus.CANCELLED).exists()
