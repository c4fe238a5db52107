"""Background jobs: a registry of job kinds, and the one runner every kind goes through.

A job kind is a plain function `fn(ctx: JobContext, **params) -> dict | None`, registered with
`@job_kind("name", queue=...)` in its app's tasks.py. `start_job()` records a `Job` row and enqueues the
single Celery task `jobs.run_job(job_id)` once the transaction commits; the runner claims the row with a
compare-and-set update (so a duplicate delivery never runs a job twice), calls the function, and records
progress, counts, the result or the error. A failed or cancelled job can be retried; the function is
expected to be idempotent (upserts, "skip what is done"), which is what makes a retry safe.

A chunked kind (`job_kind(..., chunks=Chunked(...))`) only plans here; its chunks run as their own tasks
(`jobs.chunks`), and the job ends when they do.
"""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.actors import Actor, stored_user

from . import chunks
from .kinds import _REGISTRY, Heartbeat
from .kinds import Chunked as Chunked  # re-exported: kinds declare themselves here
from .kinds import JobCancelled as JobCancelled
from .kinds import JobContext as JobContext
from .kinds import JobFunction as JobFunction
from .kinds import JobKind as JobKind
from .kinds import UnknownJobKind as UnknownJobKind
from .kinds import job_kind as job_kind
from .kinds import readable_error as readable_error
from .kinds import registered_kinds as registered_kinds
from .models import Job, JobStatus
from .params import JobParamsError as JobParamsError  # raised by start_job; callers catch it from here

logger = logging.getLogger(__name__)


def check_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters of a `kind` job when they are valid; JobParamsError (field and reason) otherwise."""
    if kind not in _REGISTRY:
        raise UnknownJobKind(f"unknown job kind {kind!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[kind].params.check(params)


def start_job(kind: str, params: dict[str, Any] | None = None, *, user: Actor = None) -> Job:
    """Check the parameters (JobParamsError), record a job and enqueue it after the transaction commits."""
    params = check_params(kind, params)
    job = Job.objects.create(
        kind=kind,
        params=params,
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
    transaction.on_commit(lambda: _send(job))


def _send(job: Job) -> bool:
    """Publish the job's task. With the broker down the job stays queued without a task id, and the
    reaper sends it again later: creating a job never fails because Redis is away."""
    try:
        result = current_app.tasks[RUN_JOB_TASK].apply_async(
            args=(job.pk,), queue=job.queue, retry_policy={"max_retries": 1, "interval_start": 0.2}
        )
    except Exception:
        logger.warning("job %s: broker unavailable, the job stays queued until the reaper sends it", job.pk,
                       exc_info=True)
        return False
    Job.objects.filter(pk=job.pk, celery_task_id="").update(celery_task_id=result.id or "")
    return True


def retry_job(job: Job) -> Job:
    """Queue a failed or cancelled job again, keeping its parameters and counting the attempt."""
    updated = Job.objects.filter(pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]).update(
        status=JobStatus.QUEUED, error="", traceback="", finished_at=None, progress_done=0, counts={},
        celery_task_id="", finish_started_at=None,
    )
    if not updated:
        raise ValueError(f"job {job.pk} is {job.status}: only failed or cancelled jobs can be retried")
    chunks.reset_unfinished_chunks(job.pk)  # a chunked job resumes: its done chunks stay done
    job.refresh_from_db()
    _enqueue(job)
    return job


def cancel_job(job: Job) -> bool:
    """Cancel a queued or running job; a running one stops at its next progress update."""
    updated = Job.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )
    chunks.cancel_queued_chunks(job.pk)
    job.refresh_from_db()
    return bool(updated)


def execute(job_id: int, *, redelivered: bool = False, task_id: str | None = None) -> JobStatus | None:
    """Claim and run one job. Returns its final status, or None when it was not ours to run.

    A redelivered message (its worker died) may take over its own running job, but not one the reaper has
    queued again under another task id. A resumed job starts its bookkeeping afresh: the function redoes
    the work from the start (skipping what is durably done), so progress and counts are counted once."""
    claimable = Q(status=JobStatus.QUEUED)
    if redelivered:
        running = Q(status=JobStatus.RUNNING)
        if task_id:
            running &= Q(celery_task_id__in=[task_id, ""])
        claimable |= running
    claimed = Job.objects.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        attempts=F("attempts") + 1,
        progress_done=0,
        counts={},
    )
    if not claimed:
        logger.info("job %s is not queued (already running, finished or cancelled); skipping", job_id)
        return None
    job = Job.objects.get(pk=job_id)
    kind = _REGISTRY.get(job.kind)
    ctx = JobContext(job)
    beating = Heartbeat(Job, job_id)
    beating.start()
    result: dict[str, Any] = {}
    try:
        if kind is None:
            raise UnknownJobKind(f"unknown job kind {job.kind!r}")
        if kind.chunks is not None:
            chunks.plan_once(job, ctx, kind)
        else:
            result = kind.func(ctx, **job.params) or {}
    except JobCancelled:
        logger.info("job %s cancelled", job_id)
        return JobStatus.CANCELLED
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            error=readable_error(exc),
            traceback=traceback.format_exc(limit=12),
            progress_done=job.progress_done,
            counts=job.counts,
            finished_at=timezone.now(),
        )
        return JobStatus.FAILED
    finally:
        beating.stop()
    if kind.chunks is not None:  # the chunks run as their own tasks; the last one to succeed finishes the job
        return chunks.start_chunks(job_id)
    finished = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED,
        progress_done=job.progress_total or job.progress_done,
        progress_total=job.progress_total,
        counts=job.counts,
        result=result,
        finished_at=timezone.now(),
    )
    return JobStatus.SUCCEEDED if finished else JobStatus.CANCELLED


def reap_stale_jobs() -> dict[str, int]:
    """Take back what dead workers left: a running job with no heartbeat for JOB_HEARTBEAT_TIMEOUT seconds
    is queued again (jobs are idempotent, so it resumes) or, after JOB_MAX_ATTEMPTS attempts, failed with a
    reason; a queued job whose task never reached the broker (it was down) is sent again; chunks likewise
    (`chunks.reap_stale_chunks`)."""
    now = timezone.now()
    timeout = int(settings.JOB_HEARTBEAT_TIMEOUT)
    stale = now - timedelta(seconds=timeout)
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    dead = (
        Job.objects.filter(status=JobStatus.RUNNING)
        .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at=None))
        # a planned chunked job has no process of its own until its finish step: its chunks are reaped instead
        .filter(Q(plan__isnull=True) | Q(finish_started_at__isnull=False))
    )
    for job in dead:
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            reason = (
                f"the worker running this job stopped (no heartbeat for {timeout} s) on each of its "
                f"{job.attempts} attempts; retry it once the cause is fixed"
            )
            same = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at)
            counts["failed"] += same.update(status=JobStatus.FAILED, error=reason, finished_at=now)
            logger.error("job %s (%s): %s", job.pk, job.kind, reason)
            continue
        requeued = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at).update(
            status=JobStatus.QUEUED, celery_task_id="", heartbeat_at=None, finish_started_at=None
        )
        if requeued:
            logger.warning("job %s (%s): worker lost (no heartbeat for %s s), queued again", job.pk, job.kind, timeout)
            job.refresh_from_db()
            _send(job)
            counts["requeued"] += 1
    unsent = Job.objects.filter(status=JobStatus.QUEUED, celery_task_id="", created_at__lt=now - timedelta(seconds=30))
    for job in unsent:
        counts["resent"] += _send(job)
    counts.update(chunks.reap_stale_chunks(now, timeout))
    return counts
