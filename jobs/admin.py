from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.large_lists import LargeListAdmin

from . import runner
from .models import Job, JobStatus


def progress_bar(job: Job) -> str:
    """A small HTML progress bar; an unknown total shows the count alone."""
    fraction = job.progress
    if fraction is None:
        return f"{job.progress_done}" if job.progress_done else "-"
    colour = {"failed": "#ba2121", "cancelled": "#999"}.get(job.status, "#417690")
    return format_html(
        '<div title="{} / {}" style="width:120px;background:#eee;border-radius:3px">'
        '<div style="width:{}%;background:{};color:#fff;font-size:11px;padding:1px 4px;'
        'border-radius:3px;white-space:nowrap">{}%</div></div>',
        job.progress_done,
        job.progress_total,
        round(fraction * 100),
        colour,
        round(fraction * 100),
    )


@admin.register(Job)
class JobAdmin(LargeListAdmin, admin.ModelAdmin[Job]):
    list_display = ["id", "kind", "status", "progress_display", "counts", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind", "queue"]
    search_fields = ["kind", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]
    actions = ["retry_jobs", "cancel_jobs"]
    readonly_fields = [
        "kind", "params", "status", "queue", "progress_display", "progress_done", "progress_total", "counts",
        "result", "error", "traceback", "attempts", "celery_task_id", "created_by", "created_at", "started_at",
        "finished_at", "heartbeat_at",
    ]
    fieldsets = [
        (None, {"fields": ["kind", "status", "progress_display", "counts", "params"]}),
        ("Outcome", {"fields": ["result", "error"]}),
        (
            "Bookkeeping",
            {
                "classes": ["collapse"],
                "fields": [
                    "queue", "progress_done", "progress_total", "attempts", "celery_task_id", "created_by",
                    "created_at", "started_at", "finished_at", "heartbeat_at",
                ],
            },
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Job | None = None) -> Any:
        """The traceback (server paths, code) is for superusers; everyone else reads the short error."""
        if request.user.is_superuser:
            return [*self.fieldsets, ("Traceback", {"classes": ["collapse"], "fields": ["traceback"]})]
        return self.fieldsets

    @admin.display(description="progress")
    def progress_display(self, job: Job) -> str:
        return progress_bar(job)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are started by the pages and commands that own them

    @admin.action(description="Retry selected failed or cancelled jobs", permissions=["change"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        retried = 0
        with transaction.atomic():
            for job in queryset.filter(status__in=[JobStatus.FAILED, JobStatus.CANCELLED]):
                runner.retry_job(job)
                retried += 1
        skipped = queryset.count() - retried
        self.message_user(request, f"{retried} job(s) queued again; {skipped} skipped (not failed or cancelled).")

    @admin.action(description="Cancel selected queued or running jobs", permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = sum(runner.cancel_job(job) for job in queryset)
        level = messages.SUCCESS if cancelled else messages.WARNING
        self.message_user(request, f"{cancelled} job(s) cancelled.", level=level)
