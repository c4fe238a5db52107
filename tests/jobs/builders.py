"""Builders for jobs and the user who starts them: each call makes one valid, distinct object, with keyword
overrides for any field."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from jobs.models import Job, JobChunk, JobStatus


def author() -> User:
    """The user recorded as the creator of built jobs and campaigns (set, so a list that forgets
    select_related shows its N+1)."""
    user, _ = User.objects.get_or_create(username="author")
    return user


def job(**fields: Any) -> Job:
    """A queued `ping` job of one step, created by `author()`."""
    return Job.objects.create(**{"kind": "ping", "params": {"steps": 1}, "created_by": author(), **fields})


def chunked_job(*statuses: JobStatus) -> Job:
    """A `ping_chunks` job whose chunks (index 0, 1, ...) have `statuses`; the job failed when one did."""
    failed = JobStatus.FAILED in statuses
    made = job(kind="ping_chunks", params={"chunks": len(statuses), "steps": 1},
               status=JobStatus.FAILED if failed else JobStatus.RUNNING, attempts=1)
    for index, chunk_status in enumerate(statuses):
        error = "RuntimeError: ping chunk asked to fail" if chunk_status == JobStatus.FAILED else ""
        JobChunk.objects.create(job=made, index=index, params={"steps": 1, "index": index}, status=chunk_status,
                                error=error)
    return made
