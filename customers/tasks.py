"""Job kinds of customers: profile rebuilds and incremental updates. Thin: the work is in profiles.py and
segments.py. Both kinds run on the `inference` queue because new searches are embedded on the way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import shared_task
from django.utils.dateparse import parse_datetime

from core.actors import Actor
from jobs.models import Job
from jobs.runner import JobContext, job_kind, start_unless_queued

from . import profiles, segments

# Job kinds defined beside their domain code register on import.
from . import predictions  # noqa: F401  isort: skip


def _parse_now(now: str | None) -> datetime | None:
    """Jobs take JSON parameters: `now` as an ISO 8601 date-time with a time zone (demo data, replays)."""
    if now is None:
        return None
    parsed = parse_datetime(now)
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"now={now!r} must be an ISO 8601 date-time with a time zone, e.g. 2025-03-01T00:00:00Z")
    return parsed


@job_kind(
    "rebuild_profiles",
    queue="inference",
    description="Every customer's profile from all events, then lifecycle and behavioural segments.",
)
def rebuild_profiles_job(ctx: JobContext, now: str | None = None, then_segments: bool = True) -> dict[str, Any]:
    moment = _parse_now(now)
    result = profiles.rebuild_profiles(now=moment, progress=ctx)
    ctx.count(profiles=result["profiles"])
    if then_segments:
        result["segments"] = segments.rebuild_segments(now=moment, job_id=ctx.job.pk)
        ctx.count(segments=result["segments"].get("segments", 0))
    return result


@job_kind("update_profiles", queue="inference", description="Fold new events into the customers' profiles.")
def update_profiles_job(
    ctx: JobContext, customer_ids: list[int] | None = None, now: str | None = None
) -> dict[str, Any]:
    result = profiles.update_profiles(customer_ids, now=_parse_now(now), progress=ctx)
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
