from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.large_lists import LargeListAdmin

from . import chunks, runner
from .models import Job, JobChunk, JobStatus


def progress_bar(job: Job | JobChunk) -> str:
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


class JobChunkInline(admin.TabularInline[JobChunk, Job]):
    """A chunked job's chunks on its page: where each stands, on which attempt, and why one failed."""

    model = JobChunk
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["index", "status", "progress_display", "counts", "attempts", "error", "finished_at"]
    readonly_fields = ["index", "status", "progress_display", "counts", "attempts", "error", "finished_at"]
    ordering = ["index"]

    @admin.display(description="progress")
    def progress_display(self, chunk: JobChunk) -> str:
        return progress_bar(chunk)

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(LargeListAdmin, admin.ModelAdmin[Job]):
    list_display = ["id", "kind", "status", "progress_display", "counts", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind", "queue"]
    search_fields = ["kind", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]
    actions = ["retry_jobs", "cancel_jobs"]
    inlines = [JobChunkInline]
    readonly_fields = [
        "kind", "params", "status", "queue", "progress_display", "progress_done", "progress_total", "counts",
        "result", "error", "traceback", "attempts", "celery_task_id", "created_by", "created_at", "started_at",
        "finished_at", "heartbeat_at", "plan", "finish_started_at",
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
                    "created_at", "started_at", "finished_at", "heartbeat_at", "plan", "finish_started_at",
                ],
            },
        ),
    ]

    def get_inlines(self, request: HttpRequest, obj: Job | None = None) -> Any:
        """Chunks only on a chunked job's page: a job run as one task has none to show."""
        return self.inlines if obj is not None and obj.plan is not None else []

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


@admin.register(JobChunk)
class JobChunkAdmin(admin.ModelAdmin[JobChunk]):
    """Chunks of chunked jobs: a failed one can be retried alone (the job resumes and finishes after it)."""

    list_display = ["id", "job", "index", "status", "progress_display", "counts", "attempts", "error"]
    list_filter = ["status", "job__kind"]
    list_select_related = ["job"]
    search_fields = ["error"]
    raw_id_fields = ["job"]
    actions = ["retry_chunks"]
    readonly_fields = [
        "job", "index", "params", "status", "progress_display", "progress_done", "progress_total", "counts",
        "result", "error", "traceback", "attempts", "celery_task_id", "created_at", "started_at", "finished_at",
        "heartbeat_at",
    ]

    def get_fields(self, request: HttpRequest, obj: JobChunk | None = None) -> Any:
        fields = [f for f in self.readonly_fields if f != "traceback"]
        return [*fields, "traceback"] if request.user.is_superuser else fields

    @admin.display(description="progress")
    def progress_display(self, chunk: JobChunk) -> str:
        return progress_bar(chunk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: JobChunk | None = None) -> bool:
        return request.user.has_perm("jobs.change_job")

    def has_delete_permission(self, request: HttpRequest, obj: JobChunk | None = None) -> bool:
        return request.user.has_perm("jobs.delete_job")  # chunks go with their job, never alone

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Retry selected failed chunks (their jobs resume)", permissions=["change"])
    def retry_chunks(self, request: HttpRequest, queryset: QuerySet[JobChunk]) -> None:
        retried, refused = 0, []
        for chunk in queryset.filter(status=JobStatus.FAILED).order_by("job_id", "index"):
            try:
                chunks.retry_chunk(chunk)
                retried += 1
            except ValueError as exc:
                refused.append(str(exc))
        skipped = queryset.count() - retried
        self.message_user(request, f"{retried} chunk(s) queued again; {skipped} skipped (not failed).")
        for reason in refused[:5]:
            self.message_user(request, reason, level=messages.WARNING)
