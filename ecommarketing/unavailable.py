"""The database unreachable: a short 503 instead of a 500 traceback, and no "logged out" look.

`DatabaseUnavailableMiddleware` turns an `OperationalError` or `InterfaceError` raised while a request is
handled (a view, DRF, the admin, or the lazy session and user behind them) into a 503 with `Retry-After`:
JSON `{"detail": ...}` under /api/, a short HTML page elsewhere. It drops the broken connection so the next
request reconnects: when the database returns, the app answers again without a restart. It sits right
after SecurityMiddleware, so it also answers for the session and authentication middleware inside it:
a session that cannot be read is a 503, never an anonymous visitor sent to the login page.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error as default_server_error

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
MESSAGE = "The database is unavailable for a moment; please try again shortly."
PAGE = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Temporarily unavailable</title></head>"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>Temporarily unavailable</h1>"
    f"<p>{MESSAGE}</p></body></html>"
)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _forget_broken_connections() -> None:
    """Close every connection so the next request opens a fresh one (the database may be back by then)."""
    for conn in connections.all(initialized_only=True):
        try:
            if not conn.in_atomic_block:
                conn.close()
        except Exception:  # closing a dead connection may itself fail: it is gone either way
            logger.debug("closing a broken connection failed", exc_info=True)
    close_old_connections()


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except DATABASE_ERRORS:  # raised by an inner middleware before Django converted it
            return self._unavailable(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Views (DRF and the admin included) raising a database error."""
        if isinstance(exception, DATABASE_ERRORS):
            return self._unavailable(request)
        return None

    def _unavailable(self, request: HttpRequest) -> HttpResponse:
        logger.error("database unavailable during %s %s", request.method, request.path, exc_info=True)
        _forget_broken_connections()
        return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database error raised in another middleware (after its own conversion) is a 503 too."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        _forget_broken_connections()
        return unavailable_response(request)
    return default_server_error(request)
