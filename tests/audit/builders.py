"""What tests read of the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditAction, AuditEntry


def acts() -> QuerySet[AuditEntry]:
    """Entries of the acts a test does: what the user fixtures do (a group joined, an API token issued) left
    out."""
    return AuditEntry.objects.exclude(action__in=[AuditAction.PERMISSION_CHANGE, AuditAction.TOKEN_CREATE])
