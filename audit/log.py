"""`record`: the one way to write an audit entry (see models.AuditEntry for what belongs in the log).

Call it inside the transaction of the act itself, so an act that rolls back leaves no entry and an entry
never describes an act that did not happen.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from core.actors import Actor, stored_user

from .models import AuditAction, AuditEntry


def record(
    actor: Actor | str,
    action: AuditAction | str,
    target: models.Model | None = None,
    *,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    target_label: str | None = None,
) -> AuditEntry:
    """Write one entry. `actor` is a person, None (the system) or a label such as "token:crm-sync"."""
    if isinstance(actor, str):
        user, label = None, actor
    else:
        user = stored_user(actor)
        label = user.get_username() if user is not None else "system"
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}; add it to audit.models.AuditAction")
    return AuditEntry.objects.create(
        actor=user,
        actor_label=label[:200],
        action=str(action),
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label if target_label is not None else str(target) if target is not None else "")[:300],
        details=details or {},
        ip=client_address(request) if request is not None else None,
    )


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from (REMOTE_ADDR; a proxy sets it through the WSGI server)."""
    address = request.META.get("REMOTE_ADDR") or None
    return str(address) if address else None
