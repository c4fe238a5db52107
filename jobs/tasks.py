"""The single Celery entry point for jobs, and the built-in diagnostic job kind `ping`."""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task

from core.logs import bound
from core.metrics import job_run

from . import runner
from .models import Job


@shared_task(bind=True, name=runner.RUN_JOB_TASK)
def run_job(self: Task, job_id: int) -> str | None:
    delivery_info = getattr(self.request, "delivery_info", None) or {}
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first() or "unknown"
    with bound(job_id=job_id), job_run(kind) as run:  # its logs carry the job id; duration by kind
        status = runner.execute(job_id, redelivered=bool(delivery_info.get("redelivered")))
        run.status = None if status is None else str(status)
    return run.status


@runner.job_kind("ping", description="Diagnostic: proves a worker takes jobs from the queue and reports progress.")
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


@runner.job_kind("ping_inference", queue="inference", description="Diagnostic: `ping` on the inference queue.")
def ping_inference(ctx: runner.JobContext, steps: int = 3) -> dict[str, Any]:
    return ping(ctx, steps=steps) or {}
