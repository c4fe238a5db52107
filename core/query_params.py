"""Unknown query parameters and invalid filter values on a list are a 400 naming the parameter.

Without this, `?emial=ann@example.com` or `?is_active=maybe` or `?ordering=prise` answered the whole,
unfiltered list, and an integration never learnt that its filter did nothing. The first filter backend
of every list checks each parameter against what the list takes: its filterset's fields, `search` (with
search fields), `ordering` (with ordering fields, each value one of them), the paginator's `page`,
`page_size` (a positive whole number) or `cursor`, `format`, and the view's own `extra_query_params`.
Filter values themselves are checked by django-filter (400 naming the field), except booleans, which it
would read as "no filter" when they are neither true nor false: those are checked here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import BooleanFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, OrderingFilter
from rest_framework.request import Request
from rest_framework.settings import api_settings

BOOLEAN_VALUES = {"true", "false", "1", "0"}


def _is_list(view: Any) -> bool:
    return getattr(view, "action", None) == "list"


def allowed_params(request: Request, queryset: QuerySet[Any], view: Any) -> dict[str, Any]:
    """Parameter name -> its django-filter filter (or None for the others) of the list `view`."""
    allowed: dict[str, Any] = {}
    filterset_class = DjangoFilterBackend().get_filterset_class(view, queryset)
    if filterset_class is not None:
        allowed.update(filterset_class.base_filters)
    if getattr(view, "search_fields", None):
        allowed[api_settings.SEARCH_PARAM] = None
    if getattr(view, "ordering_fields", None):
        allowed[api_settings.ORDERING_PARAM] = None
    paginator = getattr(view, "paginator", None)
    for attribute in ("page_query_param", "page_size_query_param", "cursor_query_param"):
        name = getattr(paginator, attribute, None)
        if name:
            allowed[name] = None
    if api_settings.URL_FORMAT_OVERRIDE:
        allowed[api_settings.URL_FORMAT_OVERRIDE] = None
    allowed.update(dict.fromkeys(getattr(view, "extra_query_params", ())))
    return allowed


class StrictQueryParams(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if not _is_list(view):
            return queryset  # detail views and actions read their own parameters
        allowed = allowed_params(request, queryset, view)
        errors: dict[str, list[str]] = {}
        for name in request.query_params:
            if name not in allowed:
                errors[name] = [f"unknown query parameter; this list takes: {', '.join(sorted(allowed))}"]
                continue
            values = request.query_params.getlist(name)
            problem = self._check_value(name, values, allowed[name], request, queryset, view)
            if problem:
                errors[name] = [problem]
        if errors:
            raise ValidationError(errors)
        return queryset

    @staticmethod
    def _check_value(
        name: str, values: list[str], filter_: Any, request: Request, queryset: QuerySet[Any], view: Any
    ) -> str | None:
        if isinstance(filter_, BooleanFilter):
            bad = [v for v in values if v.lower() not in BOOLEAN_VALUES]
            return f"must be true or false, got {bad[0]!r}" if bad else None
        if name == api_settings.ORDERING_PARAM:
            valid = {field for field, _ in OrderingFilter().get_valid_fields(queryset, view, {"request": request})}
            wrong = [term for v in values for term in v.split(",") if term.strip().lstrip("-") not in valid]
            return f"cannot order by {wrong[0]!r}; choose from {', '.join(sorted(valid))}" if wrong else None
        paginator = getattr(view, "paginator", None)
        if name == getattr(paginator, "page_size_query_param", None) and not all(
            v.isdigit() and int(v) > 0 for v in values
        ):
            return f"must be a whole number from 1 to {getattr(paginator, 'max_page_size', None) or 'any'}"
        return None


