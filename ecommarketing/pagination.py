from rest_framework.pagination import CursorPagination, PageNumberPagination


class Pagination(PageNumberPagination):
    """Page-number pagination; `?page_size=` up to 1000 for integrations that page through exports."""

    page_size_query_param = "page_size"
    max_page_size = 1000


class TimeCursorPagination(CursorPagination):
    """Stable cursor over a growing table (events): new rows never shift pages."""

    ordering = "-occurred_at"
    page_size_query_param = "page_size"
    max_page_size = 1000
