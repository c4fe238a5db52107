"""Job kinds of customers: profile rebuilds and incremental updates (on the `inference` queue, because new
searches are embedded on the way) and prediction training. Thin: the work is in profiles.py, segments.py
and predictions/."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.actors import Actor
from core.moments import parse_now
from jobs.chunks import ChunkContext, Plan, chunk_size, id_ranges
from jobs.models import Job
from jobs.runner import Chunked, JobContext, job_kind, start_unless_queued

from . import profiles, retention, segments
from .models import Customer
from .predictions import train_predictions
from .predictions.targets import check_targets

REBUILD_CHUNK_SIZE = 5_000  # customers per chunk task (JOB_CHUNK_SIZE overrides)


def _rebuild_chunk(
    ctx: ChunkContext, now: str, snapshot: int, first: int, last: int, size: int = 0, then_segments: bool = True
) -> dict[str, Any]:
    """One range of customer ids, rebuilt from the events up to the job's snapshot, as of the job's moment."""
    ids = list(Customer.objects.filter(pk__gte=first, pk__lte=last).order_by("pk").values_list("pk", flat=True))
    result = profiles.rebuild_profiles(
        now=parse_now(now), progress=ctx, customer_ids=ids, snapshot=snapshot, finish=False
    )
    ctx.count(profiles=result["profiles"])
    return result


def _rebuild_finish(ctx: JobContext, now: str, snapshot: int, then_segments: bool = True) -> dict[str, Any]:
    """Once every range is rebuilt: RFM, lifecycle sizes, then the behavioural segments (as before)."""
    moment = parse_now(now)
    assert moment is not None  # the plan always stores the moment
    result: dict[str, Any] = {
        "profiles": ctx.job.counts.get("profiles", 0), "last_event_id": snapshot,
        "lifecycle": profiles.finish_rebuild(moment),
    }
    if then_segments:
        result["segments"] = segments.rebuild_segments(now=moment, job_id=ctx.job.pk)
        ctx.count(segments=result["segments"].get("segments", 0))
    return result


@job_kind(
    "rebuild_profiles",
    queue="inference",
    description="Every customer's profile from all events, then lifecycle and behavioural segments.",
    checks={"now": parse_now},
    chunks=Chunked(run=_rebuild_chunk, finish=_rebuild_finish),
)
def rebuild_profiles_job(ctx: JobContext, now: str | None = None, then_segments: bool = True) -> Plan:
    """Plans ranges of customer ids (`JOB_CHUNK_SIZE`, default 5,000) sharing one moment and one event
    snapshot; RFM, lifecycle sizes and segments need every profile, so they are the finish step."""
    moment = parse_now(now) or timezone.now()
    ids = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    ctx.set_total(len(ids))
    shared = {"now": moment.isoformat(), "snapshot": profiles.event_snapshot(), "then_segments": bool(then_segments)}
    return Plan(id_ranges(ids, chunk_size(REBUILD_CHUNK_SIZE)), shared)


@job_kind(
    "update_profiles", queue="inference", description="Fold new events into the customers' profiles.",
    checks={"now": parse_now},
)
def update_profiles_job(
    ctx: JobContext, customer_ids: list[int] | None = None, now: str | None = None
) -> dict[str, Any]:
    result = profiles.update_profiles(customer_ids, now=parse_now(now), progress=ctx)
    ctx.count(profiles=result["profiles"])
    return result


def request_profile_update(user: Actor = None) -> Job | None:
    """Start an incremental update of every customer with new events after events arrive."""
    return start_unless_queued("update_profiles", user)


@shared_task(name="customers.request_profile_update")
def request_profile_update_task() -> int | None:
    """Beat entry point: fold in whatever events arrived since the last update."""
    job = request_profile_update()
    return None if job is None else job.pk


@job_kind("train_predictions", queue="default",
          description="Purchase-in-30-days, churn, 90-day value and next-order models; score every customer.",
          checks={"now": parse_now, "targets": check_targets})
def train_predictions_job(
    ctx: JobContext, now: str | None = None, targets: list[str] | None = None, activate: bool = True
) -> dict[str, Any]:
    """Train each target (refusing those the history cannot support) and store the predictions; progress
    is one unit per target, with trained, refused and scored counts."""
    result = train_predictions(parse_now(now), targets, activate_new=bool(activate), job_id=ctx.job.pk, progress=ctx)
    return result.as_dict()


@job_kind("purge_old_events", queue="default",
          description="Fold events older than EVENT_RETENTION_DAYS into the profiles and delete them.")
def purge_old_events_job(ctx: JobContext, older_than_days: int | None = None, now: str | None = None) -> dict[str, Any]:
    """Retention (`customers.retention`): by customer batches; running it twice deletes nothing more."""
    result = retention.purge_old_events(older_than_days=older_than_days, now=parse_now(now), progress=ctx)
    ctx.count(deleted=result["deleted"])
    return result


def request_event_purge(user: Actor = None) -> Job | None:
    """Start the retention job unless one is queued; nothing when EVENT_RETENTION_DAYS is 0 (keep forever)."""
    if settings.EVENT_RETENTION_DAYS <= 0:
        return None
    return start_unless_queued("purge_old_events", user)


@shared_task(name="customers.request_event_purge")
def request_event_purge_task() -> int | None:
    """Beat entry point (daily)."""
    job = request_event_purge()
    return None if job is None else job.pk
