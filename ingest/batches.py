"""One batch of an import: build its rows, write them in one transaction, and name every rejection by the
line of the file it comes from.

A batch is what `core.upsert.upsert` writes in one transaction, so memory stays flat on big files and a
failure loses at most the batch being written. A row whose JSON field is set only by dotted keys
(`attributes.country=Country`) has the stored object merged in first, so the import adds keys instead of
replacing the object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.upsert import NON_FIELD, RowError, UpsertReport, UpsertSpec, upsert

from .mapping import Plan, build_row
from .reading import Record

_REQUIRED = "This field is required."


def write_batch(
    spec: UpsertSpec, plan: Plan, batch: Sequence[Record], *, create_missing: bool = False
) -> tuple[UpsertReport, list[RowError]]:
    """Upsert the batch's valid rows. Returns what was written and every rejection (a broken line, a value
    that does not parse, a row the serializer or the database refuses), ordered by line."""
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    errors: list[RowError] = []
    empty: dict[int, dict[str, str]] = {}
    for record in batch:
        if record.values is None:
            errors.append(RowError(record.line, NON_FIELD, record.error))
            continue
        row, problems, empty[record.line] = build_row(plan, record.values)
        if problems:
            errors.extend(RowError(record.line, f, m) for f, m in problems)
            continue
        rows.append(row)
        lines.append(record.line)
    if plan.merge_json and rows:
        _merge_stored_json(spec, plan.merge_json, rows)
    written = upsert(spec, rows, indexes=lines, create_missing=create_missing) if rows else UpsertReport()
    errors.extend(_explain(error, empty) for error in written.errors)
    errors.sort(key=lambda error: error.index)
    return written, errors


def _explain(error: RowError, empty: Mapping[int, Mapping[str, str]]) -> RowError:
    """A "required" error names the mapped column that was empty on its line, if there was one."""
    column = empty.get(error.index, {}).get(error.field)
    if column and error.message == _REQUIRED:
        return RowError(error.index, error.field, f"This field is required, but column {column} is empty.")
    return error


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
