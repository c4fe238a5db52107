"""API tokens in the admin: issue one (its key shown once, in the message after saving), list them
without any secret, revoke. A token is never edited or deleted: revoke it and issue another."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from .models import ApiToken
from .tokens import new_key, record_issue, revoke_token, set_key


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "user__username")
    fields = ("user", "name", "scope", "prefix", "created_at", "created_by", "last_used_at", "last_used_ip",
              "revoked_at")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "last_used_ip", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        # an issued token's owner and scope are fixed: a different need is a new token
        return (*self.readonly_fields, "user", "scope") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key = new_key()
        set_key(obj, key)
        obj.created_by = request.user  # type: ignore[assignment]
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record_issue(obj, by=request.user, request=request)
        messages.warning(request, f"The key of “{obj.name}”, shown only now (copy it, it is not stored): {key}")

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = sum(revoke_token(token, by=request.user, request=request) for token in queryset)
        messages.success(request, f"{count} token(s) revoked.")
