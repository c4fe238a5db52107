"""Import CSV, TSV and JSON Lines files into products, customers, reviews and events.

The same function serves `manage.py import_data`, the `import_data` job and the admin upload page.
Every row goes through `core.upsert.upsert`, so a row from a file is accepted or rejected for
exactly the reasons the API would give, and importing the same file twice updates instead of
duplicating (products by SKU, customers and reviews by external id, events by their id or, when the
file has none, by an id derived from their content).

Why it is shaped like this:

- A file is read twice. The first pass decodes every line and counts the records, so a wrong encoding,
  an unreadable file or a missing column stops the import before anything is written, and the
  progress bar knows its total. The second pass streams records in batches (`batch_size`), each
  written in its own transaction, so memory stays flat on big files.
- Errors name the physical line of the file (the header is line 1 of a CSV), the field and the reason.
  Only the first `max_errors` are kept in memory; the reasons are counted (values masked) so a report
  with 10,000 rejections still reads in ten lines, and `errors_path` receives every one of them.
- An empty value (an empty CSV cell, or null in JSON Lines) is left out of the row rather than sent as
  "", so a re-import of a sparser export never blanks stored data. Keys set with dotted targets
  (`attributes.country=Country`) are merged into the stored JSON object instead of replacing it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

from django.utils import timezone
from rest_framework import serializers

from catalog.upserts import PRODUCT_UPSERT, REVIEW_UPSERT
from core.upsert import NON_FIELD, RowError, UpsertReport, UpsertSpec, upsert
from customers.upserts import CUSTOMER_UPSERT, EVENT_UPSERT

KINDS = ("products", "customers", "reviews", "events")
FORMATS = ("csv", "tsv", "jsonl")
DEFAULT_BATCH_SIZE = 2000  # rows validated and written per transaction: a few MB of Python objects
MAX_BATCH_SIZE = 50_000
MAX_KEPT_ERRORS = 1000
MAX_REASONS = 500  # distinct rejection reasons counted; the rest are pooled under "other reasons"
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # csv's default of 128 KiB is less than some long review texts
JSONL_MAX_KEYS = 10_000  # distinct keys collected from a JSON Lines file to check the mapping against


class DataImportError(Exception):
    """The import cannot start or cannot go on; nothing of the current batch was written."""


class ImportConfigError(DataImportError):
    """Bad options: unknown kind, field, format, encoding or preset."""


class ImportFileError(DataImportError):
    """The file cannot be used: unreadable, empty, wrongly encoded, or without a mapped column."""


# --- Kinds and presets ---------------------------------------------------------------------------------

def upsert_spec(kind: str) -> UpsertSpec:
    """The upsert spec of an import kind (the same the API writes through)."""
    specs = {"products": PRODUCT_UPSERT, "customers": CUSTOMER_UPSERT, "reviews": REVIEW_UPSERT, "events": EVENT_UPSERT}
    if kind not in specs:
        raise ImportConfigError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    return specs[kind]


def writable_fields(kind: str) -> dict[str, serializers.Field]:
    """The fields a file may set for `kind`: the writable fields of its serializer."""
    serializer = upsert_spec(kind).serializer_class(context={"upsert": True})
    return {name: f for name, f in serializer.fields.items() if not f.read_only}


@dataclass(frozen=True)
class Preset:
    """Mapping and settings that make a known export import as it is."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    create_missing: bool = False


PRESETS: dict[str, dict[str, Preset]] = {
    # UCI "Online Retail": InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
    "online-retail": {
        "products": Preset(
            mapping={"sku": "StockCode", "title": "Description", "price": "UnitPrice"},
            constants={"currency": "GBP"},
        ),
        "customers": Preset(mapping={"external_id": "CustomerID", "attributes.country": "Country"}),
        "events": Preset(
            mapping={
                "customer": "CustomerID",
                "product": "StockCode",
                "order_id": "InvoiceNo",
                "quantity": "Quantity",
                "unit_price": "UnitPrice",
                "occurred_at": "InvoiceDate",
            },
            constants={"type": "purchase"},
            date_format="%d/%m/%Y %H:%M",
            create_missing=True,
        ),
    },
}


def parse_pairs(items: Iterable[str] | str | None, what: str = "mapping") -> dict[str, str]:
    """Parse `field=value` pairs, given one per item or line, or several joined by commas.

    A comma only separates pairs when every part has an `=`, so `attributes.note=a,b` stays one pair.
    """
    if items is None:
        return {}
    if isinstance(items, str):
        items = items.splitlines()
    pairs: dict[str, str] = {}
    for item in items:
        parts = [part for part in item.split(",") if part.strip()]
        if len(parts) < 2 or not all("=" in part for part in parts):
            parts = [item]
        for part in parts:
            if not part.strip():
                continue
            target, sep, value = part.partition("=")
            target = target.strip()
            if not sep or not target:
                raise ImportConfigError(f"bad {what} {part.strip()!r}: write field=value, for example sku=StockCode")
            pairs[target] = value.strip()
    return pairs


@dataclass(frozen=True)
class ImportOptions:
    """Everything that says how to read a file, validated by `build_options`."""

    kind: str
    mapping: Mapping[str, str] = field(default_factory=dict)  # target field -> source column
    constants: Mapping[str, str] = field(default_factory=dict)  # target field -> value for every row
    date_format: str | None = None  # strptime format of datetime fields; None: ISO 8601
    file_format: str | None = None  # csv, tsv or jsonl; None: from the file name
    encoding: str = "utf-8"
    create_missing: bool = False  # events: create bare customers that a row names
    batch_size: int = DEFAULT_BATCH_SIZE


def build_options(
    kind: str,
    *,
    preset: str | None = None,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    date_format: str | None = None,
    file_format: str | None = None,
    encoding: str | None = None,
    create_missing: bool | None = None,
    batch_size: int | None = None,
) -> ImportOptions:
    """Merge a preset with explicit options (explicit ones win) and check them all before any reading."""
    fields = writable_fields(kind)
    base = Preset()
    if preset:
        if preset not in PRESETS:
            raise ImportConfigError(f"unknown preset {preset!r}; presets: {', '.join(sorted(PRESETS))}")
        if kind not in PRESETS[preset]:
            raise ImportConfigError(
                f"preset {preset!r} has nothing for {kind}; it covers: {', '.join(PRESETS[preset])}"
            )
        base = PRESETS[preset][kind]
    mapping, constants = dict(mapping or {}), dict(constants or {})
    # An explicit mapping replaces a preset constant for the same field, and the other way round.
    merged_mapping = {t: c for t, c in base.mapping.items() if t not in constants} | mapping
    merged_constants = {t: v for t, v in base.constants.items() if t not in mapping} | constants
    for target, column in merged_mapping.items():
        _check_target(kind, fields, target)
        if not column:
            raise ImportConfigError(f"mapping {target}= names no column")
    for target in merged_constants:
        _check_target(kind, fields, target)
    both = sorted(set(merged_mapping) & set(merged_constants))
    if both:
        raise ImportConfigError(f"{', '.join(both)}: given both a column and a constant value; choose one")
    if file_format and file_format not in FORMATS:
        raise ImportConfigError(f"unknown format {file_format!r}; formats: {', '.join(FORMATS)}")
    encoding = (encoding or "utf-8").strip()
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportConfigError(f"unknown encoding {encoding!r}; for example utf-8, latin-1 or cp1252") from None
    date_format = date_format or base.date_format
    if date_format is not None and "%" not in date_format:
        raise ImportConfigError(f"date format {date_format!r} has no % directive; for example %d/%m/%Y %H:%M")
    create = base.create_missing if create_missing is None else create_missing
    if create and not upsert_spec(kind).create_missing:
        raise ImportConfigError(f"creating missing customers applies to events, not to {kind}")
    size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ImportConfigError(f"batch size must be between 1 and {MAX_BATCH_SIZE}, not {size}")
    return ImportOptions(
        kind=kind,
        mapping=merged_mapping,
        constants=merged_constants,
        date_format=date_format,
        file_format=file_format or None,
        encoding=encoding,
        create_missing=create,
        batch_size=size,
    )


def _check_target(kind: str, fields: Mapping[str, serializers.Field], target: str) -> None:
    head, dot, rest = target.partition(".")
    if head not in fields:
        raise ImportConfigError(f"unknown field {head!r} for {kind}; fields: {', '.join(sorted(fields))}")
    if dot and (not rest or not isinstance(fields[head], serializers.JSONField)):
        raise ImportConfigError(
            f"{target!r}: only a JSON field (such as attributes) takes a key after a dot, as in attributes.country"
        )


# --- Reading files -------------------------------------------------------------------------------------

def detect_format(path: Path, file_format: str | None = None) -> str:
    """The format named by the options, else by the file name (a .gz suffix is looked through)."""
    if file_format:
        return file_format
    name = path.name.lower().removesuffix(".gz")
    for suffixes, fmt in (((".csv",), "csv"), ((".tsv", ".tab"), "tsv"), ((".jsonl", ".ndjson"), "jsonl")):
        if name.endswith(suffixes):
            return fmt
    raise ImportConfigError(
        f"cannot tell the format of {path.name!r} from its name; give the format (csv, tsv or jsonl)"
    )


def _open_binary(path: Path) -> IO[bytes] | gzip.GzipFile:
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.GzipFile(path, "rb")
        return path.open("rb")
    except FileNotFoundError:
        raise ImportFileError(f"cannot open {path}: no such file") from None
    except OSError as exc:
        raise ImportFileError(f"cannot open {path}: {exc.strerror or exc}") from None


def _decoded_lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines as text, decoded strictly so a wrong encoding names its line instead of
    storing mojibake. A UTF-8 byte order mark is dropped."""
    codec = codecs.lookup(encoding).name
    decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)(errors="strict")
    number, pending = 0, ""
    with _open_binary(path) as handle:
        try:
            for raw in handle:
                try:
                    pending += decoder.decode(raw)
                except UnicodeDecodeError as exc:
                    bad = exc.object[exc.start : exc.start + 1].hex()
                    raise ImportFileError(
                        f"line {number + 1} is not valid {encoding} (byte 0x{bad}); the file may be in another "
                        "encoding: set it, for example latin-1 or cp1252"
                    ) from None
                # Multi-byte encodings may split a line across binary chunks: yield whole text lines only.
                while (end := pending.find("\n")) >= 0:
                    number += 1
                    yield pending[: end + 1]
                    pending = pending[end + 1 :]
            try:
                pending += decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ImportFileError(f"line {number + 1} ends in the middle of a {encoding} character") from None
        except (OSError, EOFError) as exc:  # e.g. a truncated or fake .gz
            raise ImportFileError(f"cannot read {path.name}: {exc}") from None
    if pending:
        yield pending


@dataclass(frozen=True)
class _Record:
    line: int
    values: dict[str, Any] | None  # None when the line itself is broken
    error: str = ""


def _csv_records(path: Path, encoding: str, delimiter: str) -> tuple[list[str], Iterator[_Record]]:
    """The header and an iterator of records, each named by the line it starts on."""
    lines = _decoded_lines(path, encoding)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: {exc}") from None
    if header is None:
        raise ImportFileError(f"{path.name} is empty: a {_format_name(delimiter)} file needs a header line")
    columns = [name.strip() for name in header]

    def records() -> Iterator[_Record]:
        last = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(f"line {last + 1}: {exc}") from None
            line, last = last + 1, reader.line_num
            if not values:
                continue  # a blank line
            if len(values) < len(columns) or any(v.strip() for v in values[len(columns) :]):
                message = f"has {len(values)} values but the header has {len(columns)} columns"
                yield _Record(line, None, message)
                continue
            yield _Record(line, dict(zip(columns, values, strict=False)))

    return columns, records()


def _format_name(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def _jsonl_records(path: Path, encoding: str) -> Iterator[_Record]:
    for number, text in enumerate(_decoded_lines(path, encoding), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield _Record(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield _Record(number, None, f"expected a JSON object, found {type(value).__name__}")
            continue
        yield _Record(number, value)


def _records(path: Path, fmt: str, encoding: str) -> tuple[list[str] | None, Iterator[_Record]]:
    if fmt == "jsonl":
        return None, _jsonl_records(path, encoding)
    return _csv_records(path, encoding, "\t" if fmt == "tsv" else ",")


@dataclass(frozen=True)
class FileSummary:
    file_format: str
    columns: list[str]  # the CSV header, or the keys found in JSON Lines records
    records: int


def inspect_file(path: str | Path, options: ImportOptions, *, full: bool = True) -> FileSummary:
    """First pass: check that the file reads, count its records and collect its columns.

    With `full=False` only the header (or the first JSON record) is read: the admin's quick check
    before it saves a job.
    """
    path = Path(path)
    fmt = detect_format(path, options.file_format)
    header, records = _records(path, fmt, options.encoding)
    columns: dict[str, None] = dict.fromkeys(header or [])
    count = objects = 0
    for record in records:
        count += 1
        if header is None and record.values is not None:
            objects += 1
            if len(columns) < JSONL_MAX_KEYS:
                columns.update(dict.fromkeys(record.values))
        if not full and (header is not None or record.values is not None):
            break
    if header is None and count == 0:
        raise ImportFileError(f"{path.name} is empty: JSON Lines needs one JSON object per line")
    if header is None and not objects:
        raise ImportFileError(f"{path.name} holds no JSON object on any line; is it JSON Lines?")
    return FileSummary(fmt, list(columns), count)


def check_file(path: str | Path, options: ImportOptions) -> FileSummary:
    """A quick check before a job is queued: the file opens and decodes at its start, and a CSV or
    TSV header has every mapped column. (JSON Lines columns are checked by the import itself, over
    the whole file.)"""
    summary = inspect_file(path, options, full=False)
    if summary.file_format != "jsonl":
        _make_plan(options, summary.columns, summary.file_format)
    return summary


# --- From a record to a row ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    """How each row is built: which column or constant feeds which field, and how values are parsed."""

    columns: dict[str, str]  # target -> column, explicit and by name
    constants: dict[str, str]
    sources: tuple[tuple[str, str, str], ...]  # (target, column or "", constant): whole fields before dotted keys
    ignored: list[str]
    datetime_fields: frozenset[str]
    json_fields: frozenset[str]
    merge_json: tuple[str, ...]  # JSON fields set only by dotted keys: merged into the stored object
    date_format: str | None


def _make_plan(options: ImportOptions, columns: Sequence[str], fmt: str) -> _Plan:
    fields = writable_fields(options.kind)
    counts = Counter(columns)
    missing = [c for c in dict.fromkeys(options.mapping.values()) if c not in counts]
    if missing:
        where = "header" if fmt != "jsonl" else "records"
        available = ", ".join(c for c in columns if c) or "none"
        raise ImportFileError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: not in the file's {where}. "
            f"Available columns: {available}"
        )
    doubled = [c for c in dict.fromkeys(options.mapping.values()) if counts[c] > 1]
    if doubled:
        raise ImportFileError(f"column {', '.join(doubled)} appears more than once in the header; rename one")
    mapped = dict(options.mapping)
    taken = {t for t in [*mapped, *options.constants] if "." not in t}
    sources = set(mapped.values())
    by_lower = {name.lower(): name for name in fields}
    ignored = []
    for column in dict.fromkeys(columns):
        target = column if column in fields else by_lower.get(column.lower())
        if column and target and target not in taken and column not in sources:
            mapped[target] = column
            taken.add(target)
        elif column not in sources:
            ignored.append(column)
    feeds = [(t, c, "") for t, c in mapped.items()] + [(t, "", v) for t, v in options.constants.items()]
    dotted = {t.partition(".")[0] for t, _, _ in feeds if "." in t}
    whole = {t for t, _, _ in feeds if "." not in t}
    return _Plan(
        columns=mapped,
        constants=dict(options.constants),
        sources=tuple(sorted(feeds, key=lambda feed: "." in feed[0])),
        ignored=[c for c in ignored if c],
        datetime_fields=frozenset(n for n, f in fields.items() if isinstance(f, serializers.DateTimeField)),
        json_fields=frozenset(n for n, f in fields.items() if isinstance(f, serializers.JSONField)),
        merge_json=tuple(sorted(dotted - whole)),
        date_format=options.date_format,
    )


def _build_row(plan: _Plan, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, str]]:
    """Returns the row for the serializer, errors found while parsing, and {field: column} of the
    mapped fields whose column was empty (to explain a "required" error)."""
    row: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    empty: dict[str, str] = {}
    for target, column, constant in plan.sources:
        raw = values.get(column) if column else constant
        value = raw.strip() if isinstance(raw, str) else raw
        if value is None or value == "":
            if column and "." not in target:
                empty[target] = column
            continue
        head, _, key = target.partition(".")
        if isinstance(value, str) and "\x00" in value:
            errors.append((head, "contains the NUL character, which cannot be stored"))
            continue
        if head in plan.datetime_fields and plan.date_format and isinstance(value, str):
            try:
                parsed = _strptime(value, plan.date_format)
            except ValueError:
                errors.append((head, f"{value!r} does not match the date format {plan.date_format}"))
                continue
            value = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
        elif head in plan.json_fields and not key and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                errors.append((head, f"not valid JSON: {exc.msg} (column {exc.colno})"))
                continue
        if not key:
            row[head] = value
            continue
        container = row.setdefault(head, {})
        if not isinstance(container, dict):
            continue  # the serializer reports that the field is not a JSON object
        *parents, leaf = key.split(".")
        for parent in parents:
            container = container.setdefault(parent, {})
            if not isinstance(container, dict):
                break
        else:
            container[leaf] = value
    return row, errors, empty


@lru_cache(maxsize=8192)
def _strptime(value: str, date_format: str) -> datetime:
    """Cached: an export repeats the same timestamp on every line of an order."""
    return datetime.strptime(value, date_format)


def _deep_merge(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(stored)
    for key, value in new.items():
        old = merged.get(key)
        merged[key] = _deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def _merge_stored_json(spec: UpsertSpec, fields: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Dotted keys add to the stored JSON object instead of replacing it: one query per batch."""
    keys = {str(row[spec.key]).strip() for row in rows if isinstance(row.get(spec.key), str | int)}
    if not keys:
        return
    stored = {
        str(found[0]): found[1:]
        for found in spec.model._default_manager.filter(**{f"{spec.key}__in": keys}).values_list(spec.key, *fields)
    }
    for row in rows:
        current = stored.get(str(row.get(spec.key, "")).strip())
        if current is None:
            continue
        for name, old in zip(fields, current, strict=True):
            if isinstance(old, dict) and isinstance(row.get(name), dict):
                row[name] = _deep_merge(old, row[name])


# --- Report --------------------------------------------------------------------------------------------

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


# --- The import ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchResult:
    rows: int
    created: int
    updated: int
    rejected: int
    last_line: int


class Progress(Protocol):
    """Told the number of records once, then each batch's outcome (a progress bar, a job)."""

    def start(self, total: int) -> None: ...

    def advance(self, batch: BatchResult) -> None: ...


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, batch: BatchResult) -> None:
        pass


class _ErrorFile:
    """Writes every rejection to a CSV file (line, field, message), as the import goes."""

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
            self.writer.writerows((e.index, e.field, e.message) for e in errors)

    def __enter__(self) -> _ErrorFile:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.handle is not None:
            self.handle.close()


_REQUIRED = "This field is required."


def _explain(error: RowError, empty: Mapping[int, Mapping[str, str]]) -> RowError:
    column = empty.get(error.index, {}).get(error.field)
    if column and error.message == _REQUIRED:
        return RowError(error.index, error.field, f"This field is required, but column {column} is empty.")
    return error


def run_import(
    path: str | Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    errors_path: str | Path | None = None,
    max_errors: int = MAX_KEPT_ERRORS,
) -> ImportReport:
    """Import one file. Raises DataImportError when it cannot start (nothing is written then);
    rows that fail validation are reported, not raised."""
    started = time.monotonic()
    path = Path(path)
    spec = upsert_spec(options.kind)
    summary = inspect_file(path, options)
    plan = _make_plan(options, summary.columns, summary.file_format)
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
    progress = progress or _NoProgress()
    progress.start(summary.records)
    _, records = _records(path, summary.file_format, options.encoding)
    with _ErrorFile(errors_path) as error_file:
        while batch := list(islice(records, options.batch_size)):
            rows: list[dict[str, Any]] = []
            lines: list[int] = []
            errors: list[RowError] = []
            empty: dict[int, dict[str, str]] = {}
            for record in batch:
                if record.values is None:
                    errors.append(RowError(record.line, NON_FIELD, record.error))
                    continue
                row, problems, empty[record.line] = _build_row(plan, record.values)
                if problems:
                    errors.extend(RowError(record.line, f, m) for f, m in problems)
                    continue
                rows.append(row)
                lines.append(record.line)
            if plan.merge_json and rows:
                _merge_stored_json(spec, plan.merge_json, rows)
            result = (
                upsert(spec, rows, indexes=lines, create_missing=options.create_missing) if rows else UpsertReport()
            )
            errors.extend(_explain(error, empty) for error in result.errors)
            errors.sort(key=lambda error: error.index)
            rejected = report.add(len(batch), result.created, result.updated, errors)
            error_file.write(errors)
            progress.advance(BatchResult(len(batch), result.created, result.updated, rejected, batch[-1].line))
    report.elapsed = time.monotonic() - started
    # An import is the system's write (a command, or a job whoever started it), once for the whole file.
    spec.run_after_write(UpsertReport(created=report.created, updated=report.updated), None)
    return report
