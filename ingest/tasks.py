"""The `import_data` job kind: the admin's uploads (and any caller of `start_job`) run imports here."""

from __future__ import annotations

from typing import Any, Unpack

from jobs.runner import JobContext, job_kind

from .errors import DataImportError
from .importing import run_import
from .models import IMPORT_JOB_KIND
from .options import OptionChoices, build_options
from .uploads import check_job_paths

MAX_RESULT_ERRORS = 1000  # the job row holds these; the errors file, when asked for, holds them all


@job_kind(
    IMPORT_JOB_KIND, description="Import a CSV, TSV or JSON Lines file: products, customers, reviews, events.",
    validate=lambda p: _check_import(**p),
)
def import_data_job(
    ctx: JobContext,
    kind: str,
    path: str,
    errors_path: str | None = None,
    file_name: str | None = None,
    **choices: Unpack[OptionChoices],
) -> dict[str, Any]:
    """Import the file at `path` (readable by the worker); a file that cannot be imported fails the job."""
    check_job_paths(path, errors_path)
    report = run_import(path, build_options(kind, **choices), progress=ctx, errors_path=errors_path)
    result = report.as_dict(max_errors=MAX_RESULT_ERRORS)
    if file_name:
        result["file"] = file_name
    if errors_path:
        result["errors_file"] = errors_path
    return result


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
