"""The OpenAPI schema's defaults, so that it describes what the API answers without each view repeating it.

`AutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to every operation the error answers DRF gives on
its own: 400 (a body or a query parameter refused), 401 (no credentials), 403 (no permission), 404 (no
such object, or no such page of a list), 413 (a body over the size limit), 415 (a body in a media type the
operation does not read) and 429 (throttled), unless the view documents that code itself. A server-sent
event stream is described as events of JSON data, not as the JSON body repeated. It also reads
nullability and blank choices from the model: a declared field (a `SlugRelatedField`, a nested
serializer) over a nullable foreign key may answer null, and a read-only choice over a `blank=True` model
field may answer "" (DRF drops `allow_blank` from read-only fields, so the generated schema said neither).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    """DRF's answer to a refused request that is not about a field."""

    detail = serializers.CharField(help_text="Why the request was refused.")


# 400: DRF's validation errors map each field (or non_field_errors, or detail) to messages; nested inputs
# nest the map, and a refused list answers per item, so the shape is left open.
VALIDATION_ERROR: dict[str, Any] = {
    "description": "The request was refused: field name (or `detail`) -> messages.",
    "oneOf": [{"type": "object", "additionalProperties": {}}, {"type": "array", "items": {}}],
}

BAD_REQUEST = OpenApiResponse(VALIDATION_ERROR, description="Invalid body or query parameter.")
DEFAULT_ERRORS: dict[str, OpenApiResponse] = {
    "400": BAD_REQUEST,
    "401": OpenApiResponse(ErrorSerializer, description="No valid credentials."),
    "403": OpenApiResponse(ErrorSerializer, description="The credentials may not do this."),
    "404": OpenApiResponse(ErrorSerializer, description="No such object, or no such page."),
    "413": OpenApiResponse(ErrorSerializer, description="The body is larger than the limit."),
    "415": OpenApiResponse(ErrorSerializer, description="The body's media type is not one this operation reads."),
    "429": OpenApiResponse(ErrorSerializer, description="Too many requests: throttled."),
}
BODY_METHODS = {"POST", "PUT", "PATCH"}
BODY_ONLY = {"413", "415"}  # answers about a body

# A server-sent stream (the assistant's answers with `Accept: text/event-stream`) is a sequence of events
# whose data are JSON objects of several shapes (progress, a sentence, the final answer, an error); the
# schema of one event's data is what OpenAPI 3.0 can say of it.
EVENT_STREAM = "text/event-stream"
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {},
    "description": "The JSON data of one server-sent event: `status`, `sentence`, `done` (the JSON answer) "
    "or `error` (the error body).",
}


def model_field(field: serializers.Field[Any, Any, Any, Any]) -> models.Field[Any, Any] | None:
    """The model field behind a ModelSerializer's field (by its plain source), if any."""
    parent = getattr(field, "parent", None)
    meta = getattr(parent, "Meta", None)
    model = getattr(meta, "model", None)
    source = getattr(field, "source", "") or ""
    if model is None or not source or "." in source or source == "*":
        return None
    try:
        found = model._meta.get_field(source)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, models.Field) else None


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, answer in DEFAULT_ERRORS.items():
            if code in responses or (code in BODY_ONLY and self.method not in BODY_METHODS):
                continue
            responses[code] = self._get_response_for_code(answer, code, direction=direction)
        for response in responses.values():
            content = response.get("content", {})
            if EVENT_STREAM in content:
                content[EVENT_STREAM] = {"schema": SSE_EVENT}
        return responses

    def _get_serializer_field_meta(self, field: Any, direction: Any) -> dict[str, Any]:
        meta: dict[str, Any] = super()._get_serializer_field_meta(field, direction)
        behind = model_field(field)
        if behind is not None and behind.null and field.read_only:
            meta["nullable"] = True
        return meta

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        behind = model_field(field)
        enum = schema.get("enum")
        if behind is not None and behind.blank and field.read_only and isinstance(enum, list) and "" not in enum:
            schema = {**schema, "enum": [*enum, ""]}
        return schema
