"""Bulk upsert by external id, shared by the bulk API endpoints and `manage.py import_data`.

Each row is validated by the model's DRF serializer (the same one the single-object API uses), so a
row is accepted or rejected for the same reasons everywhere. References to other objects (a review's
product SKU, an event's customer id) are resolved for the whole batch in one query per model instead
of one per row. Valid rows are written in one transaction per batch with INSERT ... ON CONFLICT DO
UPDATE; only the fields a row provides are updated, so a partial row never blanks stored data. Invalid
rows are reported with their index, field and reason, and nothing of them is written.

Every way rows come in (the API's single create and update, its bulk action, an import) ends with the
spec's `after_write` hook, so the work that follows stored rows (queueing their analysis, embedding or
profile update) is written once, beside the spec, and cannot differ between the ways in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DataError, IntegrityError, models, transaction
from django.dispatch import Signal
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from .actors import Actor

NON_FIELD = "non_field_errors"


@dataclass(frozen=True)
class RowError:
    index: int  # position of the row in the request (0-based) or line number of a file (caller's offset)
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass
class UpsertReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Only when asked for (`upsert(..., with_ids=True)`, the bulk API): (key, primary key, created) of
    # each row written, in request order; an import of millions of rows does not keep them.
    ids: list[tuple[str, Any, bool]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.index for error in self.errors})

    def merge(self, other: UpsertReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.errors.extend(other.errors)
        self.ids.extend(other.ids)

    def as_dict(self, max_errors: int = 1000) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "errors": [error.as_dict() for error in self.errors[:max_errors]],
            "errors_truncated": len(self.errors) > max_errors,
        }


class UpsertKeyMixin:
    """For serializers used by `upsert`: in upsert mode (context `upsert`), an existing key is an update,
    not a uniqueness error, so the key field's unique validator is dropped."""

    upsert_key: str

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()  # type: ignore[misc]
        context = getattr(self, "context", None) or {}
        if context.get("upsert") and self.upsert_key in fields:
            key_field = fields[self.upsert_key]
            key_field.validators = [v for v in key_field.validators if not isinstance(v, UniqueValidator)]
        return fields


class BatchLookupSlugField(serializers.SlugRelatedField):
    """A slug reference that reads a batch-prefetched {slug: object} map from the serializer context
    (key `lookups[field_name]`) when there is one, and queries the database otherwise."""

    def to_internal_value(self, data: Any) -> Any:
        if "\x00" in str(data):  # PostgreSQL cannot even compare text with NUL: a DataError (a 500) otherwise
            raise serializers.ValidationError("must not contain the NUL character (\\u0000)")
        lookups = (self.context or {}).get("lookups", {})
        if self.field_name in lookups:
            key = str(data).strip()
            found = lookups[self.field_name].get(key)
            if found is None:
                self.fail("does_not_exist", slug_name=self.slug_field, value=key)
            return found
        return super().to_internal_value(data)


def _flatten(detail: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = NON_FIELD if key == "non_field_errors" else key
            yield from _flatten(value, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(detail, list):
        for item in detail:
            yield from _flatten(item, prefix)
    else:
        yield (prefix or NON_FIELD, str(detail))


# Sent after a write stored rows, whatever its way in, with sender=the model and `report` (the
# UpsertReport): bulk writes fire no post_save, so apps above the model's own (the assistant's index)
# listen here instead of being named in the model's spec.
rows_written = Signal()

# What follows a write that stored rows: told how many were created and updated, and who wrote them.
AfterWrite = Callable[[UpsertReport, Actor], None]


@dataclass(frozen=True)
class UpsertSpec:
    """How to upsert one model: its serializer, its key, how references are looked up, and what follows."""

    model: type[models.Model]
    serializer_class: type[serializers.ModelSerializer]
    key: str
    # field name -> (related model, slug field) for BatchLookupSlugField references
    references: Mapping[str, tuple[type[models.Model], str]] = field(default_factory=dict)
    # field name -> factory making a missing referenced object from its slug (e.g. a bare customer)
    create_missing: Mapping[str, Callable[[str], models.Model]] = field(default_factory=dict)
    after_write: AfterWrite | None = None

    def run_after_write(self, written: UpsertReport, actor: Actor) -> None:
        """Call `after_write` and send `rows_written` once for a write, whatever its way in, when it
        stored any row."""
        if not (written.created or written.updated):
            return
        if self.after_write is not None:
            self.after_write(written, actor)
        rows_written.send(sender=self.model, report=written, actor=actor)


def upsert(
    spec: UpsertSpec,
    rows: Sequence[Mapping[str, Any]],
    *,
    index_offset: int = 0,
    create_missing: bool = False,
    indexes: Sequence[int] | None = None,
    with_ids: bool = False,
) -> UpsertReport:
    """Validate `rows` and upsert the valid ones in one transaction. See the module docstring.

    `indexes` names each row in error reports (file line numbers); by default row i is
    `index_offset + i`. `with_ids` fills the report's `ids` (one more query).
    """
    report = UpsertReport()
    names = list(indexes) if indexes is not None else [index_offset + i for i in range(len(rows))]
    not_objects = [name for name, row in zip(names, rows, strict=True) if not isinstance(row, Mapping)]
    report.errors.extend(RowError(name, NON_FIELD, "each row must be a JSON object") for name in not_objects)
    named_rows = [(name, dict(row)) for name, row in zip(names, rows, strict=True) if isinstance(row, Mapping)]
    names = [name for name, _ in named_rows]
    rows = [row for _, row in named_rows]

    with transaction.atomic():
        lookups = _prefetch(spec, rows, create_missing)
        valid: dict[str, tuple[int, dict[str, Any]]] = {}  # key -> (row name, validated data); last wins
        # One serializer validates every row (as DRF's ListSerializer does): building its fields is
        # the expensive part, and doing it per row made validation several times slower.
        validator = spec.serializer_class(context={"lookups": lookups, "upsert": True})
        for name, row in zip(names, rows, strict=True):
            try:
                data = dict(validator.run_validation(row))
            except serializers.ValidationError as exc:
                report.errors.extend(RowError(name, f, m) for f, m in _flatten(exc.detail))
                continue
            valid[str(data[spec.key])] = (name, data)
        if create_missing:
            _save_missing(spec, valid)

        existing = set(
            spec.model._default_manager.filter(**{f"{spec.key}__in": list(valid)}).values_list(spec.key, flat=True)
        )
        # Rows providing different field sets are written separately, so each only updates its fields.
        groups: dict[tuple[str, ...], list[tuple[int, models.Model]]] = defaultdict(list)
        for name, data in valid.values():
            groups[tuple(sorted(data))].append((name, spec.model(**data)))
        auto_now = [f.name for f in spec.model._meta.concrete_fields if getattr(f, "auto_now", False)]
        failed: set[str] = set()
        for fields, named in groups.items():
            update_fields = [f for f in fields if f != spec.key] + [f for f in auto_now if f not in fields]
            failed |= _write(spec, named, update_fields, report)
        if with_ids:
            report.ids = _written_ids(spec, [key for key in valid if key not in failed], existing)
    report.updated = len(existing - failed)
    report.created = len(valid) - len(existing) - len(failed - existing)
    report.errors.sort(key=lambda error: error.index)
    return report


def _written_ids(spec: UpsertSpec, keys: list[str], existing: set[str]) -> list[tuple[str, Any, bool]]:
    """(key, primary key, created) of the rows written, in the order they came in. Bulk inserts do not
    return the primary keys of rows that were updated on conflict, so they are read back by key."""
    pks = dict(spec.model._default_manager.filter(**{f"{spec.key}__in": keys}).values_list(spec.key, "pk"))
    return [(key, pks[key], key not in existing) for key in keys if key in pks]


def _write(
    spec: UpsertSpec, named: list[tuple[int, models.Model]], update_fields: list[str], report: UpsertReport
) -> set[str]:
    """Write one group in a savepoint; if the database refuses the batch, retry row by row so only the
    offending rows are rejected (with the database's reason). Returns the keys that were not written."""
    manager = spec.model._default_manager
    options: dict[str, Any] = (
        {"update_conflicts": True, "unique_fields": [spec.key], "update_fields": update_fields}
        if update_fields
        else {"ignore_conflicts": True}
    )
    try:
        with transaction.atomic():
            manager.bulk_create([obj for _, obj in named], batch_size=1000, **options)
        return set()
    except (IntegrityError, DataError):
        pass
    failed: set[str] = set()
    for name, obj in named:
        try:
            with transaction.atomic():
                manager.bulk_create([obj], **options)
        except (IntegrityError, DataError) as exc:
            message = str(getattr(exc, "__cause__", None) or exc).splitlines()[0]
            report.errors.append(RowError(name, NON_FIELD, f"rejected by the database: {message}"))
            failed.add(str(getattr(obj, spec.key)))
    return failed


def _prefetch(spec: UpsertSpec, rows: Sequence[Mapping[str, Any]], create_missing: bool) -> dict[str, dict[str, Any]]:
    lookups: dict[str, dict[str, Any]] = {}
    for field_name, (model, slug_field) in spec.references.items():
        wanted = {str(row[field_name]).strip() for row in rows if row.get(field_name) not in (None, "")}
        wanted = {slug for slug in wanted if "\x00" not in slug}  # refused by the field, never queried
        found = {
            str(getattr(obj, slug_field)): obj
            for obj in model._default_manager.filter(**{f"{slug_field}__in": wanted})
        }
        factory = spec.create_missing.get(field_name)
        if create_missing and factory is not None:
            # Unsaved stand-ins: `_save_missing` stores only those a valid row uses, so a rejected row
            # leaves no customer behind. A slug too long for its column cannot be stored: its rows are
            # rejected as naming an unknown object, instead of the database failing the whole request.
            max_length = getattr(model._meta.get_field(slug_field), "max_length", None)
            found.update(
                (slug, factory(slug))
                for slug in sorted(wanted - set(found))
                if max_length is None or len(slug) <= max_length
            )
        lookups[field_name] = found
    return lookups


def _save_missing(spec: UpsertSpec, valid: Mapping[str, tuple[int, dict[str, Any]]]) -> None:
    """Store the referenced objects that `create_missing` stood in for, and point the rows at them."""
    for field_name in spec.create_missing:
        model, slug_field = spec.references[field_name]
        unsaved = {
            str(getattr(obj, slug_field)): obj
            for _, data in valid.values()
            if (obj := data.get(field_name)) is not None and obj.pk is None
        }
        if not unsaved:
            continue
        model._default_manager.bulk_create(list(unsaved.values()), ignore_conflicts=True, batch_size=1000)
        stored = {
            str(getattr(obj, slug_field)): obj
            for obj in model._default_manager.filter(**{f"{slug_field}__in": list(unsaved)})
        }
        for _, data in valid.values():
            obj = data.get(field_name)
            if obj is not None and obj.pk is None:
                data[field_name] = stored[str(getattr(obj, slug_field))]
