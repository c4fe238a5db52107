"""Shared API building blocks: the bulk upsert action and its report schema."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .upsert import UpsertReport, UpsertSpec, upsert

BULK_MAX_ROWS = int(getattr(settings, "BULK_MAX_ROWS", 10_000))


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


class BulkUpsertMixin:
    """Adds `POST <collection>/bulk/`: upsert up to BULK_MAX_ROWS rows by their external id.

    Valid rows are written in one transaction; invalid rows are reported by index and not written.
    Answers 200 when at least one row was written or there was nothing to write, 400 when every row
    was rejected. Needs both the add and the change permission of the model.
    """

    upsert_spec: UpsertSpec
    allow_create_missing = False

    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request: Request) -> Response:
        model = self.upsert_spec.model
        meta = model._meta
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
        create_missing = self.allow_create_missing and request.query_params.get("create_missing") in {
            "1", "true", "yes",
        }
        report = upsert(self.upsert_spec, rows, create_missing=create_missing)
        if report.created or report.updated:
            self.after_bulk_upsert(request, report)
        code = status.HTTP_400_BAD_REQUEST if rows and report.rejected == len(rows) else status.HTTP_200_OK
        return Response(BulkReportSerializer(report.as_dict()).data, status=code)

    def after_bulk_upsert(self, request: Request, report: UpsertReport) -> None:
        """Hook for work that follows stored rows (e.g. queueing their analysis)."""


def bulk_schema(row_serializer: type[serializers.Serializer], *, create_missing: bool = False) -> Any:
    parameters = []
    if create_missing:
        parameters.append(
            OpenApiParameter(
                "create_missing", bool, description="Create customers that the rows name but that do not exist."
            )
        )
    return extend_schema(
        summary="Bulk upsert",
        description=BulkUpsertMixin.__doc__,
        request=row_serializer(many=True),
        responses={200: BulkReportSerializer, 400: BulkReportSerializer},
        parameters=parameters,
    )
