"""Import CSV, TSV and JSON Lines files into products, customers, reviews and events.

The same function serves `manage.py import_data`, the `import_data` job and the admin upload page.
Every row goes through `core.upsert.upsert` with the upsert spec beside its model, so a row from a
file is accepted or rejected for exactly the reasons the API would give, importing the same file twice
updates instead of duplicating (products by SKU, customers and reviews by external id, events by their
id or, when the file has none, by an id derived from their content), and what follows a write (new
reviews analysed, products embedded, events folded into profiles) is the spec's `after_write`, as for
the API.

A file is read twice. The first pass (`reading.inspect_file`) decodes every line and counts the
records, so a wrong encoding, an unreadable file or a missing column stops the import before anything
is written, and the progress bar knows its total. The second pass streams records in batches
(`batch_size`), each written in its own transaction (`batches.write_batch`), so memory stays flat on
big files. The parts: `options` (kinds, presets, choices), `reading` (files), `mapping` (records to
rows), `batches` (writing), `report` (counts, reasons, the summary).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from core.progress import NO_PROGRESS, Progress
from core.upsert import UpsertReport, UpsertSpec

from .batches import write_batch
from .mapping import Plan, make_plan
from .options import ImportOptions, upsert_spec
from .reading import FileSummary, Record, inspect_file, read_records
from .report import MAX_KEPT_ERRORS, ErrorFile, ImportReport


def check_file(path: str | Path, options: ImportOptions) -> FileSummary:
    """A quick check before a job is queued: the file opens and decodes at its start, and a CSV or
    TSV header has every mapped column. (JSON Lines columns are checked by the import itself, over
    the whole file.)"""
    summary = inspect_file(path, options.file_format, options.encoding, full=False)
    if summary.file_format != "jsonl":
        make_plan(options, summary.columns, summary.file_format)
    return summary


def run_import(
    path: str | Path,
    options: ImportOptions,
    *,
    progress: Progress = NO_PROGRESS,
    errors_path: str | Path | None = None,
    max_errors: int = MAX_KEPT_ERRORS,
) -> ImportReport:
    """Import one file. Raises DataImportError when it cannot start (nothing is written then);
    rows that fail validation are reported, not raised. Progress counts records, with the created,
    updated and rejected ones counted beside."""
    started = time.monotonic()
    path = Path(path)
    spec = upsert_spec(options.kind)
    progress.stage("reading the file")
    summary = inspect_file(path, options.file_format, options.encoding)
    plan = make_plan(options, summary.columns, summary.file_format)
    report = ImportReport(
        kind=options.kind,
        file=path.name,
        file_format=summary.file_format,
        total=summary.records,
        columns=dict(plan.columns),
        constants=dict(plan.constants),
        ignored_columns=plan.ignored,
        max_errors=max_errors,
    )
    progress.set_total(summary.records)
    progress.stage("importing")
    _, records = read_records(path, summary.file_format, options.encoding)
    _write_records(records, spec, plan, options, report, progress, errors_path)
    report.elapsed = time.monotonic() - started
    # An import is the system's write (a command, or a job whoever started it), once for the whole file.
    spec.run_after_write(UpsertReport(created=report.created, updated=report.updated), None)
    return report


def _write_records(
    records: Iterable[Record], spec: UpsertSpec, plan: Plan, options: ImportOptions, report: ImportReport,
    progress: Progress, errors_path: str | Path | None,
) -> None:
    stream = iter(records)
    with ErrorFile(errors_path) as error_file:
        while batch := list(islice(stream, options.batch_size)):
            written, errors = write_batch(spec, plan, batch, create_missing=options.create_missing)
            rejected = report.add(len(batch), written.created, written.updated, errors)
            error_file.write(errors)
            progress.advance(len(batch), created=written.created, updated=written.updated, rejected=rejected)


# --- a file in chunks (the import_data job): the plan's first pass, then record ranges on any worker ----------


def inspect_for_chunks(path: str | Path, options: ImportOptions) -> FileSummary:
    """The job's plan: the whole first pass (a file that cannot be imported stops here, nothing written) and
    the mapping checked against its columns; the chunks reuse the columns found."""
    summary = inspect_file(Path(path), options.file_format, options.encoding)
    make_plan(options, summary.columns, summary.file_format)
    return summary


def import_part(
    path: str | Path,
    options: ImportOptions,
    summary: FileSummary,
    first: int,
    last: int,
    *,
    progress: Progress = NO_PROGRESS,
    errors_path: str | Path | None = None,
    max_errors: int = MAX_KEPT_ERRORS,
) -> ImportReport:
    """Records `first`..`last` (positions from 0) of the file: one chunk of an import job. Every row is an
    upsert by its key, so a chunk written twice stores nothing twice. What follows the writes (analysis,
    embeddings, profiles) runs once, in the job's finish step (`after_import`)."""
    started = time.monotonic()
    path = Path(path)
    spec = upsert_spec(options.kind)
    plan = make_plan(options, summary.columns, summary.file_format)
    report = ImportReport(
        kind=options.kind, file=path.name, file_format=summary.file_format, total=last - first + 1,
        columns=dict(plan.columns), constants=dict(plan.constants), ignored_columns=plan.ignored,
        max_errors=max_errors,
    )
    progress.set_total(last - first + 1)
    _, records = read_records(path, summary.file_format, options.encoding)
    _write_records(islice(records, first, last + 1), spec, plan, options, report, progress, errors_path)
    report.elapsed = time.monotonic() - started
    return report


def after_import(kind: str, created: int, updated: int) -> None:
    """What follows an import's writes, once for the whole file."""
    upsert_spec(kind).run_after_write(UpsertReport(created=created, updated=updated), None)
