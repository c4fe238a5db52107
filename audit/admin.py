"""The audit log in the admin: read-only for everyone (nobody can edit or delete an entry here)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.large_lists import LargeListAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeListAdmin, admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "target_type", "target_label", "ip")
    list_filter = ("action", "target_type", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "target_label", "target_id")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
