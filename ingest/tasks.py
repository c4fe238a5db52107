"""The `import_data` job kind: the admin's uploads (and any caller of `start_job`) run imports here.

The job fans out: its plan reads the whole file once (a file that cannot be imported fails before anything is
written) and splits its records into ranges (`JOB_CHUNK_SIZE`, default 10,000); each chunk task reads the file
itself and writes its range. Chunks find the file on a shared `var/` (MEDIA_ROOT/imports, where uploads are
saved, or an IMPORT_DIRS folder): every worker machine mounts the same volume. Rows are not copied into the
database with the chunk: a million-row file would be stored twice and read back through PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

from django.utils import timezone

from jobs.chunks import ChunkContext, Plan, chunk_size
from jobs.runner import Chunked, JobContext, job_kind

from .errors import DataImportError
from .importing import after_import, import_part, inspect_for_chunks
from .models import IMPORT_JOB_KIND
from .options import OptionChoices, build_options
from .reading import FileSummary
from .report import ImportReport, join_error_files
from .uploads import check_job_paths

MAX_RESULT_ERRORS = 1000  # the job row holds these; the errors file, when asked for, holds them all


IMPORT_CHUNK_SIZE = 10_000  # records per chunk task (JOB_CHUNK_SIZE overrides)


def _part_path(errors_path: str | None, index: int) -> str | None:
    return None if errors_path is None else f"{errors_path}.part-{index:05d}"


def _import_chunk(
    ctx: ChunkContext, first: int, last: int, file_format: str, columns: list[str], records: int
) -> dict[str, Any]:
    """Records first..last of the job's file (on the shared var/), upserted by key: a chunk run twice
    stores nothing twice. Its rejections go to its own part of the errors file."""
    params = dict(ctx.job.params)
    kind, path, errors_path = params.pop("kind"), params.pop("path"), params.pop("errors_path", None)
    params.pop("file_name", None)
    check_job_paths(path, errors_path)
    summary = FileSummary(file_format, columns, records)
    report = import_part(
        path, build_options(kind, **params), summary, first, last, progress=ctx,
        errors_path=_part_path(errors_path, ctx.chunk.index),
    )
    return {"report": report.as_dict(max_errors=MAX_RESULT_ERRORS)}


def _import_finish(ctx: JobContext, file_format: str, columns: list[str], records: int) -> dict[str, Any]:
    """The chunks' reports as one (the same keys as an import in one process), the errors file joined, and
    what follows the writes (analysis, embeddings, profiles) started once."""
    params = ctx.job.params
    parts = [chunk.result.get("report", {}) for chunk in ctx.job.chunks.order_by("index")]
    first = parts[0] if parts else {}
    report = ImportReport(
        kind=params["kind"], file=Path(params["path"]).name, file_format=file_format, total=records,
        columns=first.get("columns", {}), constants=first.get("constants", {}),
        ignored_columns=first.get("ignored_columns", []), max_errors=MAX_RESULT_ERRORS,
    )
    for part in parts:
        report.merge(part)
    if ctx.job.started_at is not None:
        report.elapsed = (timezone.now() - ctx.job.started_at).total_seconds()
    after_import(params["kind"], report.created, report.updated)
    result = report.as_dict(max_errors=MAX_RESULT_ERRORS)
    if params.get("file_name"):
        result["file"] = params["file_name"]
    if params.get("errors_path"):
        join_error_files(params["errors_path"], [
            Path(p) for p in (_part_path(params["errors_path"], i) for i in range(len(parts))) if p
        ])
        result["errors_file"] = params["errors_path"]
    return result


@job_kind(
    IMPORT_JOB_KIND, description="Import a CSV, TSV or JSON Lines file: products, customers, reviews, events.",
    validate=lambda p: _check_import(**p),
    chunks=Chunked(run=_import_chunk, finish=_import_finish),
)
def import_data_job(
    ctx: JobContext,
    kind: str,
    path: str,
    errors_path: str | None = None,
    file_name: str | None = None,
    **choices: Unpack[OptionChoices],
) -> Plan:
    """Import the file at `path` (readable by every worker: the shared var/); a file that cannot be imported
    fails the job before anything is written. Plans ranges of records."""
    check_job_paths(path, errors_path)
    summary = inspect_for_chunks(path, build_options(kind, **choices))
    ctx.set_total(summary.records)
    size = chunk_size(IMPORT_CHUNK_SIZE)
    ranges = [
        {"first": start, "last": min(start + size, summary.records) - 1} for start in range(0, summary.records, size)
    ]
    shared = {"file_format": summary.file_format, "columns": summary.columns, "records": summary.records}
    return Plan(ranges, shared)


def _check_import(
    kind: str, path: str, errors_path: str | None = None, file_name: str | None = None,
    **choices: Unpack[OptionChoices],
) -> None:
    """What the job checks before reading, checked when it is created: paths under the allowed folders
    (ForbiddenPath), the kind and options (ImportConfigError)."""
    check_job_paths(path, errors_path)
    try:
        build_options(kind, **choices)
    except DataImportError as exc:
        raise ValueError(str(exc)) from exc
