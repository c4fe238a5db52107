"""From a file's record to a row for the serializer: which column or constant feeds which field, and how
values are parsed (dates in the import's format, JSON in a cell, dotted keys into a JSON object).

An empty value (an empty CSV cell, or null in JSON Lines) is left out of the row rather than sent as "",
so a re-import of a sparser export never blanks stored data. Columns named like a field (in any case)
are taken without a mapping; the rest are reported as ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from .errors import ImportFileError
from .options import ImportOptions, writable_fields


@dataclass(frozen=True)
class Plan:
    """How each row is built: which column or constant feeds which field, and how values are parsed."""

    columns: dict[str, str]  # target -> column, explicit and by name
    constants: dict[str, str]
    sources: tuple[tuple[str, str, str], ...]  # (target, column or "", constant): whole fields before dotted keys
    ignored: list[str]
    datetime_fields: frozenset[str]
    json_fields: frozenset[str]
    merge_json: tuple[str, ...]  # JSON fields set only by dotted keys: merged into the stored object
    date_format: str | None


def make_plan(options: ImportOptions, columns: Sequence[str], fmt: str) -> Plan:
    """How to build rows from a file with these columns; a mapped column that is missing or doubled stops
    the import here, before anything is written."""
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
    return Plan(
        columns=mapped,
        constants=dict(options.constants),
        sources=tuple(sorted(feeds, key=lambda feed: "." in feed[0])),
        ignored=[c for c in ignored if c],
        datetime_fields=frozenset(n for n, f in fields.items() if isinstance(f, serializers.DateTimeField)),
        json_fields=frozenset(n for n, f in fields.items() if isinstance(f, serializers.JSONField)),
        merge_json=tuple(sorted(dotted - whole)),
        date_format=options.date_format,
    )


def build_row(plan: Plan, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, str]]:
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
