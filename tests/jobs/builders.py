"""Builders for jobs and the user who starts them: each call makes one valid, distinct object, with keyword
overrides for any field."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from jobs.models import Job


def author() -> User:
    """The user recorded as the creator of built jobs and campaigns (set, so a list that forgets
    select_related shows its N+1)."""
    user, _ = User.objects.get_or_create(username="author")
    return user


def job(**fields: Any) -> Job:
    """A queued `ping` job of one step, created by `author()`."""
    return Job.objects.create(**{"kind": "ping", "params": {"steps": 1}, "created_by": author(), **fields})
