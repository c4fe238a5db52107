"""Background jobs: a registry of job kinds, and the one runner every kind goes through.

A job kind is a plain function `fn(ctx: JobContext, **params) -> dict | None`, registered with
`@job_kind("name", queue=...)` in its app's tasks.py. `start_job()` records a `Job` row and enqueues the
single Celery task `jobs.run_job(job_id)` once the transaction commits; the runner claims the row with a
compare-and-set update (so a duplicate delivery never runs a job twice), calls the function, and records
progress, counts, the result or the error. A failed or cancelled job can be retried; the function is
expected to be idempotent (upserts, "skip what is done"), which is what makes a retry safe.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.actors import Actor, stored_user

from .models import Job, JobStatus

logger = logging.getLogger(__name__)

JobFunction = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class JobKind:
    name: str
    func: JobFunction
    queue: str
    description: str


_REGISTRY: dict[str, JobKind] = {}


def job_kind(
    name: str, *, queue: str = "default", description: str = ""
) -> Callable[[JobFunction], JobFunction]:
    """Register `func` as the job kind `name`, run on Celery queue `queue`."""

    def register(func: JobFunction) -> JobFunction:
        _REGISTRY[name] = JobKind(name, func, queue, description or (func.__doc__ or "").strip())
        return func

    return register


def registered_kinds() -> dict[str, JobKind]:
    return dict(_REGISTRY)


class UnknownJobKind(ValueError):
    pass


class JobCancelled(Exception):
    """Raised inside a job when someone cancelled it; the runner stops it cleanly."""


@dataclass
class JobContext:
    """What a job function sees: progress and counters, written to the row at most twice a second."""

    job: Job
    min_interval: float = 0.5
    _last_flush: float = field(default=0.0, init=False)

    def set_total(self, total: int) -> None:
        self.job.progress_total = total
        self.flush(force=True)

    def advance(self, done: int = 1, **counts: int) -> None:
        self.job.progress_done += done
        for key, value in counts.items():
            self.job.counts[key] = self.job.counts.get(key, 0) + value
        self.flush()

    def count(self, **counts: int) -> None:
        self.advance(0, **counts)

    def stage(self, name: str) -> None:
        """Log what the job is doing now (the row shows progress and counts; the log says the step)."""
        logger.info("job %s (%s): %s", self.job.pk, self.job.kind, name)

    def flush(self, force: bool = False) -> None:
        """Save progress; raise JobCancelled if the job was cancelled meanwhile."""
        now = time.monotonic()
        if not force and now - self._last_flush < self.min_interval:
            return
        self._last_flush = now
        updated = Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING).update(
            progress_done=self.job.progress_done,
            progress_total=self.job.progress_total,
            counts=self.job.counts,
            heartbeat_at=timezone.now(),
        )
        if not updated:
            raise JobCancelled(f"job {self.job.pk} was cancelled")


def start_job(kind: str, params: dict[str, Any] | None = None, *, user: Actor = None) -> Job:
    """Record a job and enqueue it after the current transaction commits."""
    if kind not in _REGISTRY:
        raise UnknownJobKind(f"unknown job kind {kind!r}; known: {', '.join(sorted(_REGISTRY))}")
    job = Job.objects.create(
        kind=kind,
        params=params or {},
        queue=_REGISTRY[kind].queue,
        created_by=stored_user(user),
    )
    _enqueue(job)
    return job


def start_unless_queued(kind: str, user: Actor = None) -> Job | None:
    """Start a `kind` job with no parameters unless one is already queued (it will pick up the new work
    too): what ingest calls after a write. Nothing starts in eager mode (no worker), so an API call never
    waits for a model; the schedule or an explicit job does the work then."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    with transaction.atomic():
        if Job.objects.filter(kind=kind, status=JobStatus.QUEUED).exists():
            return None
        return start_job(kind, {}, user=user)


RUN_JOB_TASK = "jobs.run_job"  # the one Celery task (jobs/tasks.py), looked up by name: tasks imports this module


def _enqueue(job: Job) -> None:
    def send() -> None:
        result = current_app.tasks[RUN_JOB_TASK].apply_async(args=(job.pk,), queue=job.queue)
        Job.objects.filter(pk=job.pk, celery_task_id="").update(celery_task_id=result.id or "")

    transaction.on_commit(send)


def retry_job(job: Job) -> Job:
    """Queue a failed or cancelled job again, keeping its parameters and counting the attempt."""
    updated = Job.objects.filter(pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]).update(
        status=JobStatus.QUEUED, error="", finished_at=None, progress_done=0, counts={}, celery_task_id=""
    )
    if not updated:
        raise ValueError(f"job {job.pk} is {job.status}: only failed or cancelled jobs can be retried")
    job.refresh_from_db()
    _enqueue(job)
    return job


def cancel_job(job: Job) -> bool:
    """Cancel a queued or running job; a running one stops at its next progress update."""
    updated = Job.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return bool(updated)


def execute(job_id: int, *, redelivered: bool = False) -> JobStatus | None:
    """Claim and run one job. Returns its final status, or None when it was not ours to run."""
    claimable = [JobStatus.QUEUED, JobStatus.RUNNING] if redelivered else [JobStatus.QUEUED]
    claimed = Job.objects.filter(pk=job_id, status__in=claimable).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("job %s is not queued (already running, finished or cancelled); skipping", job_id)
        return None
    job = Job.objects.get(pk=job_id)
    kind = _REGISTRY.get(job.kind)
    ctx = JobContext(job)
    try:
        if kind is None:
            raise UnknownJobKind(f"unknown job kind {job.kind!r}")
        result = kind.func(ctx, **job.params) or {}
    except JobCancelled:
        logger.info("job %s cancelled", job_id)
        return JobStatus.CANCELLED
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=8)}",
            progress_done=job.progress_done,
            counts=job.counts,
            finished_at=timezone.now(),
        )
        return JobStatus.FAILED
    finished = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED,
        progress_done=job.progress_total or job.progress_done,
        progress_total=job.progress_total,
        counts=job.counts,
        result=result,
        finished_at=timezone.now(),
    )
    return JobStatus.SUCCEEDED if finished else JobStatus.CANCELLED
