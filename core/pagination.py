from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request


class Pagination(PageNumberPagination):
    """Page-number pagination; `?page_size=` up to 1000 for integrations that page through exports."""

    page_size_query_param = "page_size"
    max_page_size = 1000


class TimeCursorPagination(CursorPagination):
    """Stable cursor over a growing table (events): new rows never shift pages."""

    ordering = ("-occurred_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        # Many events share a timestamp (one import, one order). The cursor only records the first
        # field, so rows tied on it must come in the same order on every page query, or pages repeat
        # some rows and skip others: always end with the primary key, in the first field's direction.
        ordering = tuple(super().get_ordering(request, queryset, view))
        if not any(name.lstrip("-") in ("id", "pk") for name in ordering):
            ordering += ("-id" if ordering[0].startswith("-") else "id",)
        return ordering
