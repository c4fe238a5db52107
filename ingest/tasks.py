"""The `import_data` job kind: the admin's uploads (and any caller of `start_job`) run imports here."""

from __future__ import annotations

from typing import Any

from jobs.runner import JobContext, job_kind

from .importing import BatchResult, build_options, run_import
from .models import IMPORT_JOB_KIND
from .uploads import check_job_paths

MAX_RESULT_ERRORS = 1000  # the job row holds these; the errors file, when asked for, holds them all


class _JobProgress:
    """Reports an import's progress and counts on its job row."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    def start(self, total: int) -> None:
        self.ctx.set_total(total)

    def advance(self, batch: BatchResult) -> None:
        self.ctx.advance(batch.rows, created=batch.created, updated=batch.updated, rejected=batch.rejected)


@job_kind(IMPORT_JOB_KIND, description="Import a CSV, TSV or JSON Lines file: products, customers, reviews, events.")
def import_data_job(
    ctx: JobContext,
    kind: str,
    path: str,
    mapping: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    date_format: str | None = None,
    file_format: str | None = None,
    encoding: str | None = None,
    preset: str | None = None,
    create_missing: bool | None = None,
    batch_size: int | None = None,
    errors_path: str | None = None,
    file_name: str | None = None,
) -> dict[str, Any]:
    """Import the file at `path` (readable by the worker); a file that cannot be imported fails the job."""
    check_job_paths(path, errors_path)
    options = build_options(
        kind,
        preset=preset,
        mapping=mapping,
        constants=constants,
        date_format=date_format,
        file_format=file_format,
        encoding=encoding,
        create_missing=create_missing,
        batch_size=batch_size,
    )
    report = run_import(path, options, progress=_JobProgress(ctx), errors_path=errors_path)
    result = report.as_dict(max_errors=MAX_RESULT_ERRORS)
    if file_name:
        result["file"] = file_name
    if errors_path:
        result["errors_file"] = errors_path
    return result
