"""Admin for imports: the list of import jobs, an upload page that starts one, and a readable report.

An `Import` is a job of kind import_data (a proxy model), so its page reads the job's row: progress
while it runs, then counts, the reasons rows were rejected, the first rejections and a download of all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs.admin import progress_bar

from .forms import ImportUploadForm
from .models import Import
from .options import KINDS, PRESETS, writable_fields
from .uploads import in_uploads, remove_files

SHOWN_REJECTIONS = 100


class ImportKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "import_kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind, kind) for kind in KINDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(params__kind=self.value()) if self.value() else queryset


def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> SafeString:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    cells = (format_html_join("", "<td>{}</td>", ((value,) for value in row)) for row in rows)
    body = format_html_join("", "<tr>{}</tr>", ((row,) for row in cells))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin[Import]):
    list_display = [
        "id", "file_display", "kind_display", "status", "progress_display", "created_count", "updated_count",
        "rejected_count", "created_by", "created_at",
    ]
    list_display_links = ["id", "file_display"]
    list_filter = ["status", ImportKindFilter]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    change_form_template = "admin/ingest/import/change_form.html"
    readonly_fields = [
        "file_display", "kind_display", "status", "progress_display", "outcome_display", "job_link", "created_by",
        "created_at", "started_at", "finished_at", "settings_display", "columns_display", "reasons_display",
        "rejections_display", "error",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["file_display", "kind_display", "status", "progress_display", "outcome_display", "job_link"]},
        ),
        ("Rejected rows", {"fields": ["reasons_display", "rejections_display"]}),
        ("How the file was read", {"fields": ["settings_display", "columns_display"]}),
        (
            "When and who",
            {"classes": ["collapse"], "fields": ["created_by", "created_at", "started_at", "finished_at"]},
        ),
    ]

    # --- list and detail ------------------------------------------------------------------------------

    @admin.display(description="file")
    def file_display(self, obj: Import) -> str:
        return obj.file_name

    @admin.display(description="kind")
    def kind_display(self, obj: Import) -> str:
        return obj.import_kind

    @admin.display(description="progress")
    def progress_display(self, obj: Import) -> str:
        return progress_bar(obj)

    @admin.display(description="created")
    def created_count(self, obj: Import) -> int:
        return int(obj.counts.get("created", 0))

    @admin.display(description="updated")
    def updated_count(self, obj: Import) -> int:
        return int(obj.counts.get("updated", 0))

    @admin.display(description="rejected")
    def rejected_count(self, obj: Import) -> int:
        return int(obj.counts.get("rejected", 0))

    @admin.display(description="outcome")
    def outcome_display(self, obj: Import) -> str:
        counts = obj.counts
        text = (
            f"{obj.progress_done:,} rows read: created {counts.get('created', 0):,}, "
            f"updated {counts.get('updated', 0):,}, rejected {counts.get('rejected', 0):,}"
        )
        merged = obj.result.get("merged")
        if merged:
            text += f", merged {merged:,} (a key repeated within a batch: the last row wins)"
        if obj.result.get("rows_per_second"):
            text += f"; {obj.result['rows_per_second']:,.0f} rows/s"
        return text

    @admin.display(description="job")
    def job_link(self, obj: Import) -> str:
        try:
            return format_html('<a href="{}">job #{}</a>', reverse("admin:jobs_job_change", args=[obj.pk]), obj.pk)
        except NoReverseMatch:
            return f"job #{obj.pk}"

    @admin.display(description="settings")
    def settings_display(self, obj: Import) -> str:
        params = obj.params
        rows = [
            ("preset", params.get("preset") or "-"),
            ("mapping", ", ".join(f"{t}={c}" for t, c in (params.get("mapping") or {}).items()) or "-"),
            ("constants", ", ".join(f"{t}={v}" for t, v in (params.get("constants") or {}).items()) or "-"),
            ("date format", params.get("date_format") or "ISO 8601"),
            ("format", params.get("file_format") or "from the file name"),
            ("encoding", params.get("encoding") or "utf-8"),
            ("create missing customers", "yes" if params.get("create_missing") else "as the preset says"),
        ]
        return _table(["setting", "value"], rows)

    @admin.display(description="columns")
    def columns_display(self, obj: Import) -> str:
        columns = obj.result.get("columns") or {}
        if not columns:
            return "-"
        rows = [(target, column) for target, column in columns.items()]
        rows += [(target, f"= {value}") for target, value in (obj.result.get("constants") or {}).items()]
        rows += [("(ignored)", column) for column in obj.result.get("ignored_columns") or []]
        return _table(["field", "column"], rows)

    @admin.display(description="reasons")
    def reasons_display(self, obj: Import) -> str:
        reasons = obj.result.get("reasons") or []
        if not reasons:
            return "none" if obj.is_finished else "-"
        rows = [(f"{r['count']:,}", r["field"], r["reason"], r["first_line"]) for r in reasons]
        return _table(["rows", "field", "reason", "first on line"], rows)

    @admin.display(description="rejections")
    def rejections_display(self, obj: Import) -> str:
        errors = (obj.result.get("errors") or [])[:SHOWN_REJECTIONS]
        if not errors:
            return "-"
        table = _table(["line", "field", "message"], [(e["line"], e["field"], e["message"]) for e in errors])
        total = obj.result.get("error_count", len(errors))
        note = format_html("<p>The first {} of {} errors.</p>", len(errors), f"{total:,}")
        errors_path = obj.params.get("errors_path")
        if errors_path and Path(errors_path).is_file():
            url = reverse("admin:ingest_import_errors", args=[obj.pk])
            note = format_html('{}<p><a href="{}">Download every rejection (CSV)</a></p>', note, url)
        return format_html("{}{}", note, table)

    def get_fieldsets(self, request: HttpRequest, obj: Import | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.error:
            fieldsets.insert(1, ("Failure", {"fields": ["error"]}))
        return fieldsets

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra = {"refresh_seconds": 3 if obj is not None and not obj.is_finished else None, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    # --- permissions: an import's record is read-only; uploading is "add" -------------------------------

    def has_change_permission(self, request: HttpRequest, obj: Import | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Import) -> None:
        remove_files(obj.params)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Import]) -> None:
        for obj in queryset:
            remove_files(obj.params)
        super().delete_queryset(request, queryset)

    # --- upload -----------------------------------------------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The upload page: saves the file, checks its header and starts the import as a job."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                job = form.start(request.user)
                if job is not None:
                    report = reverse("admin:ingest_import_change", args=[job.pk])
                    self.message_user(
                        request,
                        format_html(
                            'Importing {} into {} as job #{}. <a href="{}">The import\'s report</a> lists the '
                            "rejected rows when it is done.",
                            job.params["file_name"], job.params["kind"], job.pk, report,
                        ),
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(self._job_url(request, job.pk, report))
        else:
            form = ImportUploadForm()
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "title": "Import a file",
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
            "presets": [
                (name, kind, preset)
                for name, kinds in sorted(PRESETS.items())
                for kind, preset in kinds.items()
            ],
            "kind_fields": [(kind, ", ".join(writable_fields(kind))) for kind in KINDS],
        }
        return TemplateResponse(request, "admin/ingest/import/upload.html", context)

    def _job_url(self, request: HttpRequest, job_id: int, fallback: str) -> str:
        """The job's page shows live progress; users who may not see jobs get the import's page."""
        if request.user.has_perm("jobs.view_job"):
            try:
                return reverse("admin:jobs_job_change", args=[job_id])
            except NoReverseMatch:
                pass
        return fallback

    # --- the errors file --------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        errors = path(
            "<path:object_id>/errors.csv", self.admin_site.admin_view(self.errors_view), name="ingest_import_errors"
        )
        return [errors, *super().get_urls()]

    def errors_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("No such import.")
        errors_path = obj.params.get("errors_path")
        if not errors_path or not in_uploads(errors_path) or not Path(errors_path).is_file():
            raise Http404("This import has no errors file.")
        name = f"{Path(obj.file_name).stem}-rejections.csv"
        return FileResponse(Path(errors_path).open("rb"), as_attachment=True, filename=name, content_type="text/csv")
