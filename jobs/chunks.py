"""Chunked jobs: a heavy job fans out into chunk tasks that any number of workers on any machine take.

The parent job (`jobs.run_job`, as every job) claims its row, then *plans once*: its kind's function returns
the parameters of each chunk (`Plan`, or a plain list), written as `JobChunk` rows together with `Job.plan` in
one transaction, so a plan redone after a lost worker writes nothing twice. One `jobs.run_chunk` task per
chunk is published on the kind's queue (acks late, prefetch 1), so whichever worker is free takes the next.

A chunk is claimed by compare-and-set (queued -> running, only while its job is running; a redelivered message
may take back its own running chunk), so a duplicate delivery does nothing, and its work is an idempotent
upsert or skip-if-done, so a chunk run again after its worker died changes no stored row the second time
(its counts, though, are those of the last run: a send chunk run again reports the messages it sent then, not
the ones the first run sent; the messages themselves still go once). A late outcome of a run the reaper gave
away is dropped (the terminal updates match the claim's attempt number). Each
progress flush writes the chunk, then sums every chunk of the job into the job's row in one statement
(progress and counts: what the admin and the API show), and raises `JobCancelled` once the job is no longer
running, so cancelling stops running chunks at their next flush and queued chunks never start.

When a chunk ends, `settle` looks at its siblings: all succeeded -> the finish step, claimed by compare-and-set
on `Job.finish_started_at`, so it runs exactly once whichever chunk ended last; all ended and some failed ->
the job fails naming them, and `retry_chunk` queues one failed chunk again (the job runs again, and
finishes when that chunk succeeds).

Why not a Celery chord: a chord's counter lives in the result backend (Redis, or a database backend), and
RabbitMQ as the broker gives none; the project keeps results in `Job` rows (`task_ignore_result`). The job's
own rows already are a counter that survives any worker or broker restart, so the last chunk to succeed
runs the finish step, guarded by a compare-and-set on the job row: one mechanism on every broker.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .kinds import Heartbeat, JobCancelled, JobContext, JobKind, UnknownJobKind, kind_of, readable_error
from .models import Job, JobChunk, JobStatus

logger = logging.getLogger(__name__)

RUN_CHUNK_TASK = "jobs.run_chunk"  # jobs/tasks.py, looked up by name
ENDED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
PENDING = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass
class Plan:
    """What a chunked kind's planning function returns: each chunk's parameters, and what every chunk and
    the finish step share (a moment, a snapshot id) so they all work on the same view of the data."""

    chunks: list[dict[str, Any]]
    shared: dict[str, Any] = field(default_factory=dict)


def chunk_size(default: int) -> int:
    """Items per chunk: JOB_CHUNK_SIZE when set, else the kind's own default."""
    return int(settings.JOB_CHUNK_SIZE or default)


def id_ranges(ids: list[int], size: int) -> list[dict[str, Any]]:
    """Chunks of `size` sorted ids as inclusive ranges `{"first": .., "last": .., "size": ..}`: a chunk's
    parameters stay small whatever the audience, and the range is read again when the chunk runs."""
    return [
        {"first": ids[start], "last": ids[min(start + size, len(ids)) - 1], "size": len(ids[start : start + size])}
        for start in range(0, len(ids), size)
    ]


# --- planning and publishing (the parent job) ---------------------------------------------------------------


def plan_once(job: Job, ctx: JobContext, kind: JobKind) -> None:
    """Plan the job's chunks unless it was planned already (a retried or resumed job keeps its plan)."""
    if Job.objects.filter(pk=job.pk, plan__isnull=False).exists():
        return
    made = kind.func(ctx, **job.params)
    plan = made if isinstance(made, Plan) else Plan(list(made or []))
    with transaction.atomic():
        JobChunk.objects.bulk_create(
            [JobChunk(job=job, index=i, params=params) for i, params in enumerate(plan.chunks)],
            ignore_conflicts=True,
        )
        Job.objects.filter(pk=job.pk, plan__isnull=True).update(
            plan={"chunks": len(plan.chunks), "shared": plan.shared}
        )
    logger.info("job %s (%s): planned %s chunk(s)", job.pk, job.kind, len(plan.chunks))


def start_chunks(job_id: int) -> JobStatus | None:
    """After planning: sum what the chunks did so far, publish those not sent yet, settle the job (a plan of
    no chunk, or a resumed job whose chunks all ended, finishes here). Returns the job's status now."""
    aggregate(job_id)
    publish(job_id)
    settle(job_id)
    status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
    return None if status is None else JobStatus(status)


def publish(job_id: int) -> int:
    """Send a `jobs.run_chunk` task for each queued chunk without one. With the broker down the chunk stays
    queued without a task id and the reaper sends it later. In eager mode each chunk runs right here."""
    job = Job.objects.filter(pk=job_id).only("queue").first()
    if job is None:
        return 0
    ids = list(
        JobChunk.objects.filter(job_id=job_id, status=JobStatus.QUEUED, celery_task_id="").values_list("pk", flat=True)
    )
    return sum(_send(chunk_id, job.queue) for chunk_id in ids)


def _send(chunk_id: int, queue: str) -> bool:
    try:
        result = current_app.tasks[RUN_CHUNK_TASK].apply_async(
            args=(chunk_id,), queue=queue, retry_policy={"max_retries": 1, "interval_start": 0.2}
        )
    except Exception:
        logger.warning("chunk %s: broker unavailable, it stays queued until the reaper sends it", chunk_id,
                       exc_info=True)
        return False
    JobChunk.objects.filter(pk=chunk_id, celery_task_id="").update(celery_task_id=result.id or "")
    return True


# --- one chunk ---------------------------------------------------------------------------------------------


@dataclass
class ChunkContext:
    """What a chunk's function sees: the parent `job` (its id and parameters) and the chunk's own progress
    and counters, flushed at most twice a second together with the job's sums."""

    chunk: JobChunk
    job: Job
    min_interval: float = 0.5
    _last_flush: float = field(default=0.0, init=False)

    def set_total(self, total: int) -> None:
        self.chunk.progress_total = total
        self.flush(force=True)

    def advance(self, done: int = 1, **counts: int) -> None:
        self.chunk.progress_done += done
        if self.chunk.progress_total is not None:
            self.chunk.progress_done = min(self.chunk.progress_done, self.chunk.progress_total)
        for key, value in counts.items():
            self.chunk.counts[key] = self.chunk.counts.get(key, 0) + value
        self.flush()

    def count(self, **counts: int) -> None:
        self.advance(0, **counts)

    def stage(self, name: str) -> None:
        logger.info("job %s (%s) chunk %s: %s", self.job.pk, self.job.kind, self.chunk.index, name)

    def flush(self, force: bool = False) -> None:
        """Save the chunk's progress and the job's sums; raise JobCancelled once the job is not running."""
        now = time.monotonic()
        if not force and now - self._last_flush < self.min_interval:
            return
        self._last_flush = now
        updated = JobChunk.objects.filter(
            pk=self.chunk.pk, status=JobStatus.RUNNING, job__status=JobStatus.RUNNING
        ).update(
            progress_done=self.chunk.progress_done, progress_total=self.chunk.progress_total,
            counts=self.chunk.counts, heartbeat_at=timezone.now(),
        )
        if not updated:
            raise JobCancelled(f"job {self.job.pk} was cancelled")
        aggregate(self.job.pk)


def execute_chunk(chunk_id: int, *, redelivered: bool = False, task_id: str | None = None) -> JobStatus | None:
    """Claim and run one chunk; its final status, or None when it was not ours to run (done already, taken by
    another delivery, or its job is no longer running)."""
    claimable = Q(status=JobStatus.QUEUED)
    if redelivered:
        running = Q(status=JobStatus.RUNNING)
        if task_id:
            running &= Q(celery_task_id__in=[task_id, ""])
        claimable |= running
    now = timezone.now()
    claim: dict[str, Any] = {
        "status": JobStatus.RUNNING, "started_at": now, "heartbeat_at": now, "attempts": F("attempts") + 1,
        "progress_done": 0, "counts": {}, "result": {}, "error": "", "traceback": "",
    }
    if task_id:
        claim["celery_task_id"] = task_id
    claimed = JobChunk.objects.filter(claimable, pk=chunk_id, job__status=JobStatus.RUNNING).update(**claim)
    if not claimed:
        JobChunk.objects.filter(pk=chunk_id, status=JobStatus.QUEUED).exclude(job__status=JobStatus.RUNNING).exclude(
            job__status=JobStatus.QUEUED  # a job queued again publishes its chunks itself
        ).update(status=JobStatus.CANCELLED, finished_at=now)
        logger.info("chunk %s is not queued or its job is not running; skipping", chunk_id)
        return None
    chunk = JobChunk.objects.select_related("job").get(pk=chunk_id)
    job = chunk.job
    # this run's row: once the reaper gave the chunk to another delivery, a late outcome of this one changes nothing
    mine = JobChunk.objects.filter(pk=chunk_id, status=JobStatus.RUNNING, attempts=chunk.attempts)
    kind = kind_of(job.kind)
    shared = (job.plan or {}).get("shared", {})
    ctx = ChunkContext(chunk, job)
    beating = Heartbeat(JobChunk, chunk_id)
    beating.start()
    try:
        if kind is None or kind.chunks is None:
            raise UnknownJobKind(f"job kind {job.kind!r} is unknown or not chunked")
        result = kind.chunks.run(ctx, **shared, **chunk.params) or {}
    except JobCancelled:
        # The job was cancelled; if it was retried meanwhile (queued or running again), the chunk goes back in
        # the queue instead, or the retried job would wait for it forever.
        retried = Job.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()
        if retried:
            mine.update(status=JobStatus.QUEUED, celery_task_id="", heartbeat_at=None)
        else:
            mine.update(status=JobStatus.CANCELLED, finished_at=timezone.now())
        if retried:
            publish(job.pk)  # a job queued again publishes its queued chunks itself; a running one needs this
        logger.info("job %s chunk %s stopped: the job was cancelled", job.pk, chunk.index)
        return JobStatus.CANCELLED
    except Exception as exc:
        logger.exception("job %s (%s) chunk %s failed", job.pk, job.kind, chunk.index)
        mine.update(
            status=JobStatus.FAILED, error=readable_error(exc), traceback=traceback.format_exc(limit=12),
            progress_done=chunk.progress_done, counts=chunk.counts, finished_at=timezone.now(),
        )
        aggregate(job.pk)
        settle(job.pk)
        return JobStatus.FAILED
    finally:
        beating.stop()
    done = mine.update(
        status=JobStatus.SUCCEEDED, progress_done=chunk.progress_total or chunk.progress_done,
        counts=chunk.counts, result=result, finished_at=timezone.now(),
    )
    aggregate(job.pk)
    settle(job.pk)
    return JobStatus.SUCCEEDED if done else None


_AGGREGATE = f"""
UPDATE {Job._meta.db_table} AS j SET
    progress_done = agg.done,
    progress_total = COALESCE(j.progress_total, agg.total),
    counts = agg.counts,
    heartbeat_at = CASE WHEN j.status = 'running' THEN now() ELSE j.heartbeat_at END
FROM (
    SELECT COALESCE(SUM(CASE WHEN c.status = 'succeeded' THEN GREATEST(c.progress_done, COALESCE(c.progress_total, 0))
                             ELSE c.progress_done END), 0) AS done,
           SUM(c.progress_total) AS total,
           (SELECT COALESCE(jsonb_object_agg(t.key, t.value), '{{}}'::jsonb) FROM (
                SELECT e.key, SUM(e.value::numeric) AS value
                FROM {JobChunk._meta.db_table} c2 CROSS JOIN LATERAL jsonb_each_text(c2.counts) e
                WHERE c2.job_id = %(job)s AND jsonb_typeof(c2.counts -> e.key) = 'number'
                GROUP BY e.key) t) AS counts
    FROM {JobChunk._meta.db_table} c WHERE c.job_id = %(job)s
) AS agg
WHERE j.id = %(job)s AND j.finish_started_at IS NULL
"""


def aggregate(job_id: int) -> None:
    """The job's progress and counts as the sums of its chunks' (one statement; the finish step owns them
    once it started)."""
    with connection.cursor() as cursor:
        cursor.execute(_AGGREGATE, {"job": job_id})


def settle(job_id: int) -> JobStatus | None:
    """After a chunk ended: nothing while chunks are pending; the job failed, naming its failed chunks, when
    all ended and some failed; the finish step (once) when all succeeded."""
    chunks = JobChunk.objects.filter(job_id=job_id)
    if chunks.filter(status__in=PENDING).exists():
        return None
    failed = list(chunks.filter(status=JobStatus.FAILED).order_by("index").values_list("index", "error")[:3])
    if failed:
        total = chunks.count()
        how_many = chunks.filter(status=JobStatus.FAILED).count()
        first_index, first_error = failed[0]
        reason = (
            f"{how_many} of {total} chunk(s) failed (first: chunk {first_index}: {first_error}); retry the failed "
            "chunks, the others are done"
        )
        updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=reason[:1000], finished_at=timezone.now()
        )
        return JobStatus.FAILED if updated else None
    if chunks.exclude(status=JobStatus.SUCCEEDED).exists():
        return None  # cancelled chunks: the job was cancelled
    return finish_once(job_id)


def finish_once(job_id: int) -> JobStatus | None:
    """Run the kind's finish step if this caller wins the compare-and-set on `finish_started_at`."""
    not_done = JobChunk.objects.filter(job_id=OuterRef("pk")).exclude(status=JobStatus.SUCCEEDED)
    now = timezone.now()
    claimed = (
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, finish_started_at__isnull=True, plan__isnull=False)
        .exclude(Exists(not_done))
        .update(finish_started_at=now, heartbeat_at=now)
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    kind = kind_of(job.kind)
    ctx = JobContext(job)
    beating = Heartbeat(Job, job_id)
    beating.start()
    try:
        if kind is None or kind.chunks is None:
            raise UnknownJobKind(f"job kind {job.kind!r} is unknown or not chunked")
        shared = (job.plan or {}).get("shared", {})
        result = (kind.chunks.finish(ctx, **shared) if kind.chunks.finish else None) or dict(job.counts)
    except JobCancelled:
        return JobStatus.CANCELLED
    except Exception as exc:
        logger.exception("job %s (%s): the finish step failed", job_id, job.kind)
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=f"finish step: {readable_error(exc)}",
            traceback=traceback.format_exc(limit=12), finished_at=timezone.now(),
        )
        return JobStatus.FAILED
    finally:
        beating.stop()
    finished = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED, progress_done=job.progress_total or job.progress_done,
        progress_total=job.progress_total, counts=job.counts, result=result, finished_at=timezone.now(),
    )
    return JobStatus.SUCCEEDED if finished else JobStatus.CANCELLED


# --- cancel, retry, reap ---------------------------------------------------------------------------------


def cancel_queued_chunks(job_id: int) -> int:
    """Queued chunks of a cancelled job never run; running ones stop at their next flush."""
    return JobChunk.objects.filter(job_id=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )


def reset_unfinished_chunks(job_id: int) -> int:
    """For a retried job: its failed and cancelled chunks are queued again (done ones stay done)."""
    return JobChunk.objects.filter(job_id=job_id, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]).update(
        status=JobStatus.QUEUED, error="", traceback="", celery_task_id="", finished_at=None, heartbeat_at=None,
    )


def retry_chunk(chunk: JobChunk) -> JobChunk:
    """Queue one failed chunk again; its failed job runs again (and finishes once the chunk succeeds)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=chunk.job_id)
        if job.status == JobStatus.CANCELLED:
            raise ValueError(f"job {job.pk} was cancelled: retry the job, not one of its chunks")
        updated = JobChunk.objects.filter(pk=chunk.pk, status=JobStatus.FAILED).update(
            status=JobStatus.QUEUED, error="", traceback="", celery_task_id="", finished_at=None, heartbeat_at=None,
        )
        if not updated:
            chunk.refresh_from_db()
            raise ValueError(
                f"chunk {chunk.index} of job {job.pk} is {chunk.status}: only a failed chunk can be retried"
            )
        Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
            status=JobStatus.RUNNING, error="", traceback="", finished_at=None, heartbeat_at=timezone.now(),
        )
        transaction.on_commit(lambda: _send(chunk.pk, job.queue))
    chunk.refresh_from_db()
    return chunk


def reap_stale_chunks(now: datetime, timeout: int) -> dict[str, int]:
    """Running chunks whose worker stopped beating are queued again (failed after JOB_MAX_ATTEMPTS); queued
    chunks the broker never got are sent; a job whose chunks all ended without settling is settled."""
    stale = now - timedelta(seconds=timeout)
    counts = {"chunks_requeued": 0, "chunks_failed": 0, "chunks_resent": 0}
    dead = JobChunk.objects.filter(status=JobStatus.RUNNING).filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at=None))
    touched: set[int] = set()
    for chunk in dead.select_related("job"):
        same = JobChunk.objects.filter(pk=chunk.pk, status=JobStatus.RUNNING, heartbeat_at=chunk.heartbeat_at)
        if chunk.attempts >= settings.JOB_MAX_ATTEMPTS:
            reason = (
                f"the worker running this chunk stopped (no heartbeat for {timeout} s) on each of its "
                f"{chunk.attempts} attempts"
            )
            counts["chunks_failed"] += same.update(status=JobStatus.FAILED, error=reason, finished_at=now)
        elif same.update(status=JobStatus.QUEUED, celery_task_id="", heartbeat_at=None):
            counts["chunks_requeued"] += 1
            logger.warning("job %s chunk %s: worker lost, queued again", chunk.job_id, chunk.index)
            if chunk.job.status == JobStatus.RUNNING:
                counts["chunks_resent"] += _send(chunk.pk, chunk.job.queue)
        touched.add(chunk.job_id)
    unsent = JobChunk.objects.filter(
        status=JobStatus.QUEUED, celery_task_id="", job__status=JobStatus.RUNNING,
        created_at__lt=now - timedelta(seconds=30),
    ).select_related("job")
    for chunk in unsent:
        counts["chunks_resent"] += _send(chunk.pk, chunk.job.queue)
    unsettled = Job.objects.filter(
        status=JobStatus.RUNNING, plan__isnull=False, finish_started_at__isnull=True
    ).exclude(Exists(JobChunk.objects.filter(job_id=OuterRef("pk"), status__in=PENDING)))
    for job_id in [*touched, *unsettled.values_list("pk", flat=True)]:
        settle(job_id)
    return counts
