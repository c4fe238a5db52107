"""The Celery entry points for jobs (`run_job`, and `run_chunk` for the chunks of a chunked kind), and the
built-in diagnostic job kinds `ping` and `ping_chunks`."""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from core.logs import bound
from core.metrics import job_run

from . import chunks, runner
from .models import Job, JobChunk
from .params import between


@shared_task(
    bind=True,
    name=runner.RUN_JOB_TASK,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),  # the database away: claim again when it is back
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=12,
)
def run_job(self: Task, job_id: int) -> str | None:
    """Run one job. When the database is unreachable (at claim, or while the job records its outcome) the
    task is retried with exponential backoff (Celery's Django fixup drops broken connections around each
    task, so the retry reconnects); a retry may take over its own running job (same task id)."""
    delivery_info = getattr(self.request, "delivery_info", None) or {}
    redelivered = bool(delivery_info.get("redelivered")) or bool(self.request.retries)
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first() or "unknown"
    with bound(job_id=job_id), job_run(kind) as run:  # its logs carry the job id; duration by kind
        status = runner.execute(job_id, redelivered=redelivered, task_id=self.request.id)
        run.status = None if status is None else str(status)
    return run.status


@shared_task(
    bind=True,
    name=chunks.RUN_CHUNK_TASK,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=12,
)
def run_chunk(self: Task, chunk_id: int) -> str | None:
    """Run one chunk of a chunked job, on whichever worker took it; like `run_job`, a redelivered or retried
    message may take back its own running chunk, and nothing else."""
    delivery_info = getattr(self.request, "delivery_info", None) or {}
    redelivered = bool(delivery_info.get("redelivered")) or bool(self.request.retries)
    found = JobChunk.objects.filter(pk=chunk_id).values_list("job_id", "job__kind").first()
    job_id, kind = found if found else (None, "unknown")
    with bound(job_id=job_id), job_run(f"{kind}.chunk") as run:
        status = chunks.execute_chunk(chunk_id, redelivered=redelivered, task_id=self.request.id)
        run.status = None if status is None else str(status)
    return run.status


@runner.job_kind(
    "ping", description="Diagnostic: proves a worker takes jobs from the queue and reports progress.",
    checks={"steps": between(0, 100_000), "delay": between(0, 3600)},
)
def ping(ctx: runner.JobContext, steps: int = 3, delay: float = 0.0, fail: bool = False) -> dict[str, Any]:
    """Counts to `steps`; with `fail` it raises, so operators can check that failures are recorded."""
    ctx.set_total(steps)
    for _ in range(steps):
        time.sleep(delay)
        ctx.advance(1, pings=1)
    if fail:
        raise RuntimeError("ping asked to fail")
    import socket

    return {"worker": socket.gethostname()}


@runner.job_kind(
    "ping_inference", queue="inference", description="Diagnostic: `ping` on the inference queue.",
    checks={"steps": between(0, 100_000)},
)
def ping_inference(ctx: runner.JobContext, steps: int = 3) -> dict[str, Any]:
    return ping(ctx, steps=steps) or {}


@shared_task(name="jobs.reap_stale_jobs")
def reap_stale_jobs_task() -> dict[str, int]:
    """Beat, every JOB_REAPER_SECONDS: running jobs of dead workers queued again, unsent jobs sent."""
    return runner.reap_stale_jobs()


def _ping_chunk(ctx: chunks.ChunkContext, steps: int, delay: float = 0.0, fail_index: int | None = None,
                index: int = 0) -> dict[str, Any]:
    """One chunk of `ping_chunks`: counts its steps; `fail_index` makes that chunk fail (for retries)."""
    ctx.set_total(steps)
    for _ in range(steps):
        time.sleep(delay)
        ctx.advance(1, pings=1)
    if fail_index is not None and index == fail_index:
        raise RuntimeError(f"ping chunk {index} asked to fail")
    import os
    import socket

    return {"worker": f"{socket.gethostname()}:{os.getpid()}"}


def _ping_finish(ctx: runner.JobContext, **shared: Any) -> dict[str, Any]:
    """Counts its own runs in the job's counts, so a test sees that it ran exactly once."""
    workers = sorted({c.result.get("worker", "") for c in ctx.job.chunks.all()} - {""})
    ctx.count(finished=1)
    return {"chunks": ctx.job.chunks.count(), "workers": workers}


@runner.job_kind(
    "ping_chunks",
    description="Diagnostic: `ping` fanned out into chunk tasks that any worker takes.",
    checks={"chunks": between(1, 10_000), "steps": between(0, 100_000), "delay": between(0, 3600)},
    chunks=runner.Chunked(run=_ping_chunk, finish=_ping_finish),
)
def ping_chunks(
    ctx: runner.JobContext, chunks: int = 4, steps: int = 3, delay: float = 0.0, fail_index: int | None = None
) -> list[dict[str, Any]]:
    """Plans `chunks` chunks of `steps` pings each; chunk `fail_index` fails (a test heals it in its params)."""
    ctx.set_total(chunks * steps)
    return [
        {"steps": steps, "delay": delay, "fail_index": fail_index, "index": i} for i in range(chunks)
    ]
