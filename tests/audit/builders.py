"""What tests read of the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditAction, AuditEntry


def acts() -> QuerySet[AuditEntry]:
    """Entries of the acts a test does: the role fixtures' group changes (permission_change) left out."""
    return AuditEntry.objects.exclude(action=AuditAction.PERMISSION_CHANGE)
