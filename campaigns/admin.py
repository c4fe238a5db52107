from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    list_display = ["name", "goal", "channel", "status", "created_by", "created_at"]
    list_filter = ["status", "channel", "goal"]
    search_fields = ["name", "brief"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "goal", "channel", "status"]}),
        ("Brief", {"fields": ["brief", "brand_voice"]}),
        ("History", {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
