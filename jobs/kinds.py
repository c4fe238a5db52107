"""What a job kind is, and what its function sees while it runs: the registry, `JobContext`, the heartbeat.

A kind is a function `fn(ctx: JobContext, **params) -> dict | None` registered with `@job_kind(...)`. A heavy
kind declares itself chunked (`chunks=Chunked(run=..., finish=...)`): its function then only *plans*, returning
the parameters of each chunk, and every chunk runs as its own Celery task (`jobs.chunks`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, models
from django.utils import timezone

from .models import Job, JobStatus
from .params import ParamCheck, ParamsCheck, ParamSpec

logger = logging.getLogger(__name__)

JobFunction = Callable[..., Any]


@dataclass(frozen=True)
class Chunked:
    """How a chunked kind runs: its registered function plans (`fn(ctx, **params) -> list[dict]`, the
    parameters of each chunk, written once as `JobChunk` rows); `run(ctx: ChunkContext, **chunk_params)` does
    one chunk (idempotent: an upsert or skip-if-done, since a chunk may be delivered twice) and returns its
    counts; `finish(ctx: JobContext) -> dict`, when given, runs once after the last chunk succeeded (its
    `ctx.job.counts` hold the chunks' summed counts) and returns the job's result."""

    run: Callable[..., dict[str, Any] | None]
    finish: Callable[..., dict[str, Any] | None] | None = None


@dataclass(frozen=True)
class JobKind:
    name: str
    func: JobFunction
    queue: str
    description: str
    params: ParamSpec
    chunks: Chunked | None = None


_REGISTRY: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    queue: str = "default",
    description: str = "",
    checks: Mapping[str, ParamCheck] | None = None,
    validate: ParamsCheck | None = None,
    chunks: Chunked | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register `func` as the job kind `name`, run on Celery queue `queue` (its chunks too, with `chunks`).

    Its parameters are checked at `start_job` against `func`'s signature (names, types, required ones),
    then by `checks` (parameter -> check raising ValueError: paths, names, ranges) and `validate` (the
    whole dict), so a bad job is refused when it is created, not when a worker runs it."""

    def register(func: JobFunction) -> JobFunction:
        spec = ParamSpec.from_function(func, checks, validate)
        _REGISTRY[name] = JobKind(name, func, queue, description or (func.__doc__ or "").strip(), spec, chunks)
        return func

    return register


def registered_kinds() -> dict[str, JobKind]:
    return dict(_REGISTRY)


def kind_of(name: str) -> JobKind | None:
    return _REGISTRY.get(name)


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


ERROR_LENGTH = 500


def readable_error(exc: BaseException) -> str:
    """What the manager reads: the refusal's own words for a domain error (a ValueError and its kin, which
    name the problem), the exception's name and message otherwise; the traceback stays in the log and in
    `Job.traceback` (admin, superusers only)."""
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, ValueError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 3] + "..."


class Heartbeat:
    """Writes a running row's `heartbeat_at` (a job's or a chunk's) every JOB_HEARTBEAT_SECONDS from a thread
    while its function runs, so a long step without progress updates still shows a live worker; a killed
    worker stops beating, and the reaper (`reap_stale_jobs`) takes the row back after JOB_HEARTBEAT_TIMEOUT."""

    def __init__(self, model: type[models.Model], pk: int) -> None:
        self.rows = model._default_manager.filter(pk=pk, status=JobStatus.RUNNING)
        self.label = f"{model._meta.model_name} {pk}"
        self.interval = float(settings.JOB_HEARTBEAT_SECONDS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{self.label}-heartbeat", daemon=True)

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
                    self.rows.update(heartbeat_at=timezone.now())
                except Exception:  # the database away for a while: the next beat tries again
                    logger.warning("%s: heartbeat not written", self.label, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()
