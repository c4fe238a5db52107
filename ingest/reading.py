"""Reading import files: CSV, TSV and JSON Lines, gzip-compressed or not, in any encoding Python knows.

A file is decoded strictly, so a wrong encoding stops the import at the line where it shows instead of
storing mojibake. Each record is named by the physical line it starts on (the header is line 1 of a
CSV; a quoted value may span lines), so every error can point at the line to fix. A line that cannot be
a record (too many values, broken JSON) is yielded as a record with an error, not raised, so the rest
of the file still imports.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from core.parsers import loads_strict

from .errors import ImportConfigError, ImportFileError

FORMATS = ("csv", "tsv", "jsonl")
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # csv's default of 128 KiB is less than some long review texts
JSONL_MAX_KEYS = 10_000  # distinct keys collected from a JSON Lines file to check the mapping against
CHUNK_BYTES = 1 << 16  # read this much at a time: a line is never read whole before it is measured


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


def _limits() -> tuple[int, int]:
    return int(settings.IMPORT_MAX_LINE_CHARS), int(settings.IMPORT_MAX_DECOMPRESSED_BYTES)


def _decoded_lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines as text, decoded strictly so a wrong encoding names its line instead of
    storing mojibake. A UTF-8 byte order mark is dropped.

    Read in chunks and bounded: a line longer than IMPORT_MAX_LINE_CHARS, or a compressed file that expands
    past IMPORT_MAX_DECOMPRESSED_BYTES (a gzip bomb), stops the import with the line named, before memory
    runs out."""
    codec = codecs.lookup(encoding).name
    decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)(errors="strict")
    max_line, max_total = _limits()
    compressed = path.name.lower().endswith(".gz")
    number, pending, total = 0, "", 0
    with _open_binary(path) as handle:
        try:
            while raw := handle.read(CHUNK_BYTES):
                total += len(raw)
                if compressed and total > max_total:
                    raise ImportFileError(
                        f"line {number + 1}: {path.name} expands to more than {max_total:,} bytes "
                        "(IMPORT_MAX_DECOMPRESSED_BYTES); split the file or raise the limit"
                    )
                try:
                    pending += decoder.decode(raw)
                except UnicodeDecodeError as exc:
                    bad = exc.object[exc.start : exc.start + 1].hex()
                    line = number + 1 + exc.object[: exc.start].count(b"\n")  # the chunk holds several lines
                    raise ImportFileError(
                        f"line {line} is not valid {encoding} (byte 0x{bad}); the file may be in another "
                        "encoding: set it, for example latin-1 or cp1252"
                    ) from None
                # Multi-byte encodings may split a line across binary chunks: yield whole text lines only.
                *lines, pending = pending.split("\n")
                for text in lines:
                    number += 1
                    if len(text) > max_line:
                        raise _too_long(number, max_line)
                    yield text + "\n"
                if len(pending) > max_line:
                    raise _too_long(number + 1, max_line)
            try:
                pending += decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ImportFileError(f"line {number + 1} ends in the middle of a {encoding} character") from None
        except (OSError, EOFError) as exc:  # e.g. a truncated or fake .gz
            raise ImportFileError(f"cannot read {path.name}: {exc}") from None
    if pending:
        yield pending


def _too_long(number: int, limit: int) -> ImportFileError:
    return ImportFileError(
        f"line {number} is longer than {limit:,} characters (IMPORT_MAX_LINE_CHARS): is it really a "
        "CSV, TSV or JSON Lines file?"
    )


@dataclass(frozen=True)
class Record:
    """One record of a file: its values by column (or JSON key), named by the line it starts on."""

    line: int
    values: dict[str, Any] | None  # None when the line itself is broken
    error: str = ""


def _csv_records(path: Path, encoding: str, delimiter: str) -> tuple[list[str], Iterator[Record]]:
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

    def records() -> Iterator[Record]:
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
                yield Record(line, None, message)
                continue
            yield Record(line, dict(zip(columns, values, strict=False)))

    return columns, records()


def _format_name(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def _jsonl_records(path: Path, encoding: str) -> Iterator[Record]:
    for number, text in enumerate(_decoded_lines(path, encoding), start=1):
        if not text.strip():
            continue
        try:
            value = loads_strict(text.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield Record(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except ValueError as exc:  # a repeated key, a lone surrogate, NaN, too deep: as the API refuses them
            yield Record(number, None, f"not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield Record(number, None, f"expected a JSON object, found {type(value).__name__}")
            continue
        yield Record(number, value)


def read_records(path: Path, fmt: str, encoding: str) -> tuple[list[str] | None, Iterator[Record]]:
    """The header (None for JSON Lines, whose records name their own keys) and a stream of records."""
    if fmt == "jsonl":
        return None, _jsonl_records(path, encoding)
    return _csv_records(path, encoding, "\t" if fmt == "tsv" else ",")


@dataclass(frozen=True)
class FileSummary:
    """What the first pass over a file found."""

    file_format: str
    columns: list[str]  # the CSV header, or the keys found in JSON Lines records
    records: int


def inspect_file(path: str | Path, file_format: str | None, encoding: str, *, full: bool = True) -> FileSummary:
    """First pass: check that the file reads, count its records and collect its columns.

    With `full=False` only the header (or the first JSON record) is read: the admin's quick check
    before it saves a job.
    """
    path = Path(path)
    fmt = detect_format(path, file_format)
    header, records = read_records(path, fmt, encoding)
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
