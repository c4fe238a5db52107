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
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.actors import Actor, stored_user

from .models import Job, JobStatus
from .params import JobParamsError as JobParamsError  # raised by start_job; callers catch it from here
from .params import ParamCheck, ParamsCheck, ParamSpec

logger = logging.getLogger(__name__)

JobFunction = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class JobKind:
    name: str
    func: JobFunction
    queue: str
    description: str
    params: ParamSpec


_REGISTRY: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    queue: str = "default",
    description: str = "",
    checks: Mapping[str, ParamCheck] | None = None,
    validate: ParamsCheck | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register `func` as the job kind `name`, run on Celery queue `queue`.

    Its parameters are checked at `start_job` against `func`'s signature (names, types, required ones),
    then by `checks` (parameter -> check raising ValueError: paths, names, ranges) and `validate` (the
    whole dict), so a bad job is refused when it is created, not when a worker runs it."""

    def register(func: JobFunction) -> JobFunction:
        spec = ParamSpec.from_function(func, checks, validate)
        _REGISTRY[name] = JobKind(name, func, queue, description or (func.__doc__ or "").strip(), spec)
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
        if self.job.progress_total is not None:  # progress never says more than all
            self.job.progress_done = min(self.job.progress_done, self.job.progress_total)
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
        celery_task_id="",
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
    beating = _Heartbeat(job_id)
    beating.start()
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
            error=readable_error(exc),
            traceback=traceback.format_exc(limit=12),
            progress_done=job.progress_done,
            counts=job.counts,
            finished_at=timezone.now(),
        )
        return JobStatus.FAILED
    finally:
        beating.stop()
    finished = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED,
        progress_done=job.progress_total or job.progress_done,
        progress_total=job.progress_total,
        counts=job.counts,
        result=result,
        finished_at=timezone.now(),
    )
    return JobStatus.SUCCEEDED if finished else JobStatus.CANCELLED


ERROR_LENGTH = 500


def readable_error(exc: BaseException) -> str:
    """What the manager reads: the refusal's own words for a domain error (a ValueError and its kin, which
    name the problem), the exception's name and message otherwise; the traceback stays in the log and in
    `Job.traceback` (admin, superusers only)."""
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, ValueError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 3] + "..."


class _Heartbeat:
    """Writes the job's `heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread while the function runs,
    so a long step without progress updates still shows a live worker; a killed worker stops beating, and
    the reaper (`reap_stale_jobs`) takes the job back after JOB_HEARTBEAT_TIMEOUT."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.interval = float(settings.JOB_HEARTBEAT_SECONDS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def start(self) -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:  # eager jobs run inside a request or test transaction
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
                except Exception:  # the database away for a while: the next beat tries again
                    logger.warning("job %s: heartbeat not written", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()


def reap_stale_jobs() -> dict[str, int]:
    """Take back what dead workers left: a running job with no heartbeat for JOB_HEARTBEAT_TIMEOUT seconds
    is queued again (jobs are idempotent, so it resumes) or, after JOB_MAX_ATTEMPTS attempts, failed with a
    reason; a queued job whose task never reached the broker (it was down) is sent again."""
    now = timezone.now()
    timeout = int(settings.JOB_HEARTBEAT_TIMEOUT)
    stale = now - timedelta(seconds=timeout)
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    dead = Job.objects.filter(status=JobStatus.RUNNING).filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at=None))
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
            status=JobStatus.QUEUED, celery_task_id="", heartbeat_at=None
        )
        if requeued:
            logger.warning("job %s (%s): worker lost (no heartbeat for %s s), queued again", job.pk, job.kind, timeout)
            job.refresh_from_db()
            _send(job)
            counts["requeued"] += 1
    unsent = Job.objects.filter(status=JobStatus.QUEUED, celery_task_id="", created_at__lt=now - timedelta(seconds=30))
    for job in unsent:
        counts["resent"] += _send(job)
    return counts
