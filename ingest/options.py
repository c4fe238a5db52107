"""What an import is told: the kind of rows, and how a file's columns become their fields.

`--map field=Column` and `--set field=value` (or a preset such as online-retail, the UCI Online Retail
export) name where each field comes from; `--date-format` how dates are written. Everything is checked
here, against the fields the kind's serializer writes, before any file is read. Each kind is written
through the upsert spec that lives beside its model, the same one the API writes through.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from rest_framework import serializers

from assistant.upserts import PRODUCT_QUESTION_UPSERT
from catalog.upserts import PRODUCT_UPSERT, REVIEW_UPSERT
from core.upsert import UpsertSpec
from customers.upserts import CUSTOMER_UPSERT, EVENT_UPSERT

from .errors import ImportConfigError
from .reading import FORMATS

SPECS = {
    "products": PRODUCT_UPSERT, "customers": CUSTOMER_UPSERT, "reviews": REVIEW_UPSERT, "events": EVENT_UPSERT,
    "questions": PRODUCT_QUESTION_UPSERT,
}
KINDS = tuple(SPECS)
DEFAULT_BATCH_SIZE = 2000  # rows validated and written per transaction: a few MB of Python objects
MAX_BATCH_SIZE = 50_000


def upsert_spec(kind: str) -> UpsertSpec:
    """The upsert spec of an import kind."""
    if kind not in SPECS:
        raise ImportConfigError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    return SPECS[kind]


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
    # Amazon product Q&A (McAuley et al.): row_id, asin, questionType, answerType, question, answer,
    # unixTime, answerTime; question and answer match by name, the ASIN is the product's SKU
    "amazon-qa": {"questions": Preset(mapping={"product": "asin"}, constants={"source": "amazon"})},
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


class OptionChoices(TypedDict, total=False):
    """How to read a file, as a command, a form or a job's parameters give it; a choice left out or None
    takes the preset's value, or the default."""

    preset: str | None
    mapping: Mapping[str, str] | None  # target field -> source column
    constants: Mapping[str, str] | None  # target field -> value for every row
    date_format: str | None
    file_format: str | None
    encoding: str | None
    create_missing: bool | None
    batch_size: int | None


def build_options(kind: str, **choices: Unpack[OptionChoices]) -> ImportOptions:
    """Merge a preset with explicit choices (explicit ones win) and check them all before any reading."""
    known = OptionChoices.__annotations__
    unknown = sorted(set(choices) - set(known))
    if unknown:  # a job's parameters are JSON from anywhere: a misspelt option must not be ignored
        raise ImportConfigError(f"unknown option {', '.join(unknown)}; options: {', '.join(known)}")
    fields = writable_fields(kind)
    base = Preset()
    preset = choices.get("preset")
    if preset:
        if preset not in PRESETS:
            raise ImportConfigError(f"unknown preset {preset!r}; presets: {', '.join(sorted(PRESETS))}")
        if kind not in PRESETS[preset]:
            raise ImportConfigError(
                f"preset {preset!r} has nothing for {kind}; it covers: {', '.join(PRESETS[preset])}"
            )
        base = PRESETS[preset][kind]
    mapping, constants = dict(choices.get("mapping") or {}), dict(choices.get("constants") or {})
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
    file_format = choices.get("file_format")
    if file_format and file_format not in FORMATS:
        raise ImportConfigError(f"unknown format {file_format!r}; formats: {', '.join(FORMATS)}")
    encoding = (choices.get("encoding") or "utf-8").strip()
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportConfigError(f"unknown encoding {encoding!r}; for example utf-8, latin-1 or cp1252") from None
    date_format = choices.get("date_format") or base.date_format
    if date_format is not None and "%" not in date_format:
        raise ImportConfigError(f"date format {date_format!r} has no % directive; for example %d/%m/%Y %H:%M")
    create_missing = choices.get("create_missing")
    create = base.create_missing if create_missing is None else create_missing
    if create and not upsert_spec(kind).create_missing:
        raise ImportConfigError(f"creating missing customers applies to events, not to {kind}")
    batch_size = choices.get("batch_size")
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
