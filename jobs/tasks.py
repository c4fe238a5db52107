"""The single Celery entry point for jobs, and the built-in diagnostic job kind `ping`."""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from core.logs import bound
from core.metrics import job_run

from . import runner
from .models import Job
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
