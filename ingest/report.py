"""What an import did: counts, the first rejections, rejections counted by reason, and the summary the
command prints (the job stores `as_dict()`).

Only the first `max_errors` rejections are kept in memory; the reasons are counted with the
row-specific value masked, so a report with 10,000 rejections still reads in ten lines, and the
errors file (`ErrorFile`) receives every one of them as the import goes.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from core.upsert import NON_FIELD, RowError

from .errors import ImportConfigError

MAX_KEPT_ERRORS = 1000
MAX_REASONS = 500  # distinct rejection reasons counted; the rest are pooled under "other reasons"

_MASKS = [
    (re.compile(r"^Object with (\w+)=.* does not exist\.$"), r"Object with \1=… does not exist."),
    (re.compile(r'^".*" is not a valid choice\.$'), '"…" is not a valid choice.'),
    (re.compile(r"^'.*' does not match the date format"), "'…' does not match the date format"),
    (re.compile(r"\(column \d+\)$"), "(column …)"),
]


@lru_cache(maxsize=4096)
def reason_of(message: str) -> str:
    """A rejection message with its row-specific value masked, to count rows by reason."""
    for pattern, replacement in _MASKS:
        message = pattern.sub(replacement, message)
    return message


@dataclass(frozen=True)
class Reason:
    field: str
    reason: str
    count: int
    first_line: int


@dataclass
class ImportReport:
    """What an import did. `rows - created - updated - rejected` rows repeated a key already seen in
    the same batch: they were merged, the last one winning."""

    kind: str
    file: str
    file_format: str
    total: int = 0  # records counted before the import
    rows: int = 0  # records read
    created: int = 0
    updated: int = 0
    rejected: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first `max_errors`; `index` is the line
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    max_errors: int = MAX_KEPT_ERRORS
    _reasons: Counter[tuple[str, str]] = field(default_factory=Counter, repr=False)
    _first_lines: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    @property
    def merged(self) -> int:
        return self.rows - self.created - self.updated - self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    def add(self, rows: int, created: int, updated: int, errors: Sequence[RowError]) -> int:
        """Count one batch; returns the number of rows it rejected."""
        rejected = len({error.index for error in errors})
        self.rows += rows
        self.created += created
        self.updated += updated
        self.rejected += rejected
        self.error_count += len(errors)
        room = self.max_errors - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])
        for error in errors:
            key = (error.field, reason_of(error.message))
            if key not in self._reasons and len(self._reasons) >= MAX_REASONS:
                key = ("*", "other reasons")
            self._reasons[key] += 1
            self._first_lines.setdefault(key, error.index)
        return rejected

    def merge(self, part: dict[str, Any]) -> None:
        """Add a chunk's `as_dict()`: counts summed, rejections kept up to `max_errors` in line order, reasons
        counted (each chunk keeps its 50 most frequent)."""
        for name in ("rows", "created", "updated", "rejected", "error_count"):
            setattr(self, name, getattr(self, name) + int(part.get(name, 0)))
        room = self.max_errors - len(self.errors)
        if room > 0:
            self.errors.extend(RowError(e["line"], e["field"], e["message"]) for e in part.get("errors", [])[:room])
            self.errors.sort(key=lambda error: error.index)
        for r in part.get("reasons", []):
            key = (r["field"], r["reason"])
            self._reasons[key] += int(r["count"])
            self._first_lines[key] = min(self._first_lines.get(key, r["first_line"]), r["first_line"])

    def reasons(self, limit: int | None = None) -> list[Reason]:
        """Rejection reasons, the most frequent first."""
        return [
            Reason(f, reason, count, self._first_lines[(f, reason)])
            for (f, reason), count in self._reasons.most_common(limit)
        ]

    def as_dict(self, max_errors: int = MAX_KEPT_ERRORS) -> dict[str, Any]:
        """JSON-ready, for a job's result."""
        return {
            "kind": self.kind,
            "file": self.file,
            "format": self.file_format,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "merged": self.merged,
            "elapsed_seconds": round(self.elapsed, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "columns": self.columns,
            "constants": self.constants,
            "ignored_columns": self.ignored_columns,
            "reasons": [
                {"field": r.field, "reason": r.reason, "count": r.count, "first_line": r.first_line}
                for r in self.reasons(50)
            ],
            "error_count": self.error_count,
            "errors": [{"line": e.index, "field": e.field, "message": e.message} for e in self.errors[:max_errors]],
            "errors_truncated": self.error_count > min(max_errors, len(self.errors)),
        }


def describe_error(error: RowError) -> str:
    """`line 12, field price: must not be negative` (no field for whole-row problems)."""
    if error.field == NON_FIELD:
        return f"line {error.index}: {error.message}"
    return f"line {error.index}, field {error.field}: {error.message}"


def format_report(report: ImportReport, *, show_errors: int = 20, show_reasons: int = 10) -> str:
    """The human summary printed by the command."""
    lines = [
        f"Imported {report.kind} from {report.file} ({report.file_format}): {report.rows:,} rows in "
        f"{report.elapsed:.1f} s ({report.rows_per_second:,.0f} rows/s)",
        f"  created {report.created:,}, updated {report.updated:,}, rejected {report.rejected:,}"
        + (f", merged {report.merged:,} (a key repeated within a batch: the last row wins)" if report.merged else ""),
        "  columns: " + ", ".join(f"{t}<-{c}" for t, c in report.columns.items())
        + "".join(f", {t}={v!r}" for t, v in report.constants.items()),
    ]
    if report.ignored_columns:
        lines.append("  ignored columns: " + ", ".join(report.ignored_columns))
    if report.error_count:
        shown = report.errors[:show_errors]
        lines.append(f"Rejections (first {len(shown)} of {report.error_count:,} errors in {report.rejected:,} rows):")
        lines.extend(f"  {describe_error(error)}" for error in shown)
        reasons = report.reasons()
        lines.append(f"Rejections by reason ({len(reasons)} reasons):")
        for r in reasons[:show_reasons]:
            where = "" if r.field == NON_FIELD else f"{r.field}: "
            lines.append(f"  {r.count:>8,}  {where}{r.reason}  (first on line {r.first_line})")
        if len(reasons) > show_reasons:
            lines.append(f"  ... and {len(reasons) - show_reasons} more reasons")
    return "\n".join(lines)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading quote (OWASP's
    advice against CSV injection). Stored data is never changed; only this export is."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class ErrorFile:
    """Writes every rejection to a CSV file (line, field, message), as the import goes; a message quotes the
    rejected value, so cells are made spreadsheet-safe."""

    def __init__(self, path: str | Path | None) -> None:
        self.handle: IO[str] | None = None
        if path is None:
            return
        try:
            self.handle = Path(path).open("w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by __exit__
        except OSError as exc:
            raise ImportConfigError(f"cannot write the errors file {path}: {exc.strerror or exc}") from None
        self.writer = csv.writer(self.handle)
        self.writer.writerow(["line", "field", "message"])

    def write(self, errors: Iterable[RowError]) -> None:
        if self.handle is not None:
            self.writer.writerows((e.index, spreadsheet_safe(e.field), spreadsheet_safe(e.message)) for e in errors)

    def __enter__(self) -> ErrorFile:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.handle is not None:
            self.handle.close()


def join_error_files(path: str | Path, parts: Sequence[Path]) -> None:
    """The errors file of a chunked import: its chunks' files (each with its header) joined in order, then
    removed."""
    with Path(path).open("w", encoding="utf-8", newline="") as joined:
        joined.write("line,field,message\r\n")
        for part in parts:
            if part.exists():
                with part.open(encoding="utf-8", newline="") as handle:
                    handle.readline()
                    joined.writelines(handle)
                part.unlink()
