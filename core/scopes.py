"""What an API token may do, within its user's own permissions (which always apply as well).

Checked by the token authentication itself (access.authentication), so no view can skip it by naming its
own permission classes: a read token writes nothing; an ingest token reads nothing and writes only
through the upsert endpoints (products, reviews, customers, events, product questions), singly or in
bulk; a full token is its user. Kept free of DRF imports: DRF's settings import the authentication class,
which imports this.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class TokenScope(models.TextChoices):
    FULL = "full", "full (the user's permissions)"
    READ = "read", "read only"
    INGEST = "ingest", "ingest only (write products, reviews, customers, events, questions)"


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
INGEST_METHODS = ("POST", "PUT", "PATCH")
# The actions of an upsert endpoint (core.viewsets.UpsertModelViewSet) an ingest token may call.
INGEST_ACTIONS = ("create", "update", "partial_update", "bulk")


def scope_refusal(scope: str, view: Any, method: str) -> str | None:
    """Why a token of `scope` may not call `method` on `view` (None: it may)."""
    if scope == TokenScope.FULL:
        return None
    if scope == TokenScope.READ:
        return None if method in SAFE_METHODS else "this token is read-only: it may not write"
    if scope == TokenScope.INGEST:
        from .viewsets import UpsertModelViewSet

        if (
            isinstance(view, UpsertModelViewSet)
            and method in INGEST_METHODS
            and getattr(view, "action", None) in INGEST_ACTIONS
        ):
            return None
        return "this token may only write products, reviews, customers, events and product questions"
    return f"unknown token scope {scope!r}"
