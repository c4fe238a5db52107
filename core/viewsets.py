"""Shared API building blocks: the viewset of a model written through its upsert spec (single objects
and the bulk action), its OpenAPI summaries, and the bulk report schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from .parsers import BoundedJSONParser
from .schema import VALIDATION_ERROR
from .upsert import UpsertReport, UpsertSpec, upsert

BULK_MAX_ROWS = int(getattr(settings, "BULK_MAX_ROWS", 10_000))

_M = TypeVar("_M", bound=models.Model)
_V = TypeVar("_V", bound=Callable[..., Any])  # a viewset class, for the schema decorator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def check_json_object(value: Any) -> Any:
    """Validates a JSON-object input (attributes, params): a dict that PostgreSQL's jsonb can store.
    jsonb refuses the NUL character, which JSON allows, so it is rejected here rather than by the
    database (a 500 on the single-object endpoints)."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("must be a JSON object")
    if _has_nul(value):
        raise serializers.ValidationError("must not contain the NUL character (\\u0000)")
    return value


def check_not_blank(value: str) -> str:
    """Validates a key (a SKU, an external id): surrounding spaces dropped, and blank refused, since a
    blank key would name no object and every blank row would update the same one."""
    value = value.strip()
    if not value:
        raise serializers.ValidationError("must not be blank")
    return value


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request, from 0.")
    field = serializers.CharField(help_text="Field at fault, or non_field_errors.")
    message = serializers.CharField()


class BulkReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Rows not written; each has at least one error.")
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]
    errors_truncated = serializers.BooleanField()


def bulk_report_serializer(spec: UpsertSpec) -> type[BulkReportSerializer]:
    """The bulk report of one model: the shared counts and errors, and `ids`, each row written named by
    the model's key (`sku`, `external_id`) with its id and whether it was created. One class per model,
    so the schema names the key (components `<Model>BulkReport` and `<Model>Written`)."""
    name = spec.model.__name__
    written = type(
        f"{name}WrittenSerializer",
        (serializers.Serializer,),
        {
            spec.key: serializers.CharField(help_text=f"The row's {spec.key}, as stored."),
            "id": serializers.IntegerField(help_text="The object's id (its pk in the API's routes)."),
            "created": serializers.BooleanField(help_text="True when the row was new, false when it updated."),
            "__module__": __name__,
        },
    )
    return type(
        f"{name}BulkReportSerializer",
        (BulkReportSerializer,),
        {
            "ids": written(many=True, help_text="The rows written, in request order (a key sent twice: once)."),
            "__module__": __name__,
        },
    )


def bulk_refused(report: type[BulkReportSerializer]) -> OpenApiResponse:
    """A 400 is a report when every row was rejected, and DRF's field errors when the body is no list of
    rows."""
    component = report.__name__.removesuffix("Serializer")
    return OpenApiResponse(
        {"anyOf": [{"$ref": f"#/components/schemas/{component}"}, VALIDATION_ERROR]},
        description="Every row rejected (a report), or the body is not a list of rows (field errors).",
    )


BULK_DESCRIPTION = (
    "Adds `POST <collection>/bulk/`: upsert up to BULK_MAX_ROWS rows by their external id.\n\n"
    "Valid rows are written in one transaction; invalid rows are reported by index and not written. "
    "Answers 200 when at least one row was written or there was nothing to write, 400 when every row "
    "was rejected. The reply's `ids` lists each row written with its key, its id and whether it was created. "
    "Needs both the add and the change permission of the model."
)


class UpsertModelViewSet(viewsets.ModelViewSet[_M]):
    """A model's endpoints, written through its upsert spec: list, get, create, replace, update, delete,
    and `POST <collection>/bulk/` (see BULK_DESCRIPTION).

    A single create, a single update and a bulk upsert each end with the spec's `after_write`, told
    what was stored and by whom (an import ends with the same hook).
    """

    upsert_spec: UpsertSpec

    def perform_create(self, serializer: BaseSerializer[_M]) -> None:
        super().perform_create(serializer)
        self.upsert_spec.run_after_write(UpsertReport(created=1), self.request.user)

    def perform_update(self, serializer: BaseSerializer[_M]) -> None:
        super().perform_update(serializer)
        self.upsert_spec.run_after_write(UpsertReport(updated=1), self.request.user)

    # A list of rows has no form encoding: the rows are JSON only (another media type is a 415).
    @action(detail=False, methods=["post"], url_path="bulk", parser_classes=[BoundedJSONParser])
    def bulk(self, request: Request) -> Response:
        spec = self.upsert_spec
        meta = spec.model._meta
        needed = [f"{meta.app_label}.add_{meta.model_name}", f"{meta.app_label}.change_{meta.model_name}"]
        if not request.user.has_perms(needed):
            raise PermissionDenied(f"bulk upsert needs both permissions: {', '.join(needed)}")
        rows: Any = request.data
        if isinstance(rows, dict):
            rows = rows.get("rows")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ValidationError({"rows": "send a JSON list of objects, or {\"rows\": [...]}"})
        if len(rows) > BULK_MAX_ROWS:
            raise ValidationError({"rows": f"at most {BULK_MAX_ROWS} rows a request (got {len(rows)})"})
        # Only a spec that can make a missing reference (events: a bare customer) reads the flag.
        create_missing = bool(spec.create_missing) and request.query_params.get("create_missing") in {
            "1", "true", "yes",
        }
        report = upsert(spec, rows, create_missing=create_missing, with_ids=True)
        spec.run_after_write(report, request.user)
        code = status.HTTP_400_BAD_REQUEST if rows and report.rejected == len(rows) else status.HTTP_200_OK
        body = {**report.as_dict(), "ids": [{spec.key: k, "id": pk, "created": new} for k, pk, new in report.ids]}
        return Response(body, status=code)


def upsert_schema(
    spec: UpsertSpec,
    *,
    one: str,
    many: str,
    create: str | None = None,
    list_description: str | None = None,
    destroy_description: str | None = None,
) -> Callable[[_V], _V]:
    """The OpenAPI summaries of an `UpsertModelViewSet`: `one` names an object ("a product"), `many` the
    collection ("products"); `create` replaces the summary "Create <one>"."""
    return extend_schema_view(
        list=extend_schema(summary=f"List {many}", description=list_description),
        retrieve=extend_schema(summary=f"Get {one}"),
        create=extend_schema(summary=create or f"Create {one}"),
        update=extend_schema(summary=f"Replace {one}"),
        partial_update=extend_schema(summary=f"Update {one}"),
        destroy=extend_schema(summary=f"Delete {one}", description=destroy_description),
        bulk=_bulk_schema(spec),
    )


def _bulk_schema(spec: UpsertSpec) -> Any:
    parameters = []
    if spec.create_missing:
        parameters.append(
            OpenApiParameter(
                "create_missing", bool, description="Create customers that the rows name but that do not exist."
            )
        )
    report = bulk_report_serializer(spec)
    return extend_schema(
        summary="Bulk upsert",
        description=BULK_DESCRIPTION,
        request=spec.serializer_class(many=True),
        responses={200: report, 400: bulk_refused(report)},
        parameters=parameters,
    )
