"""Keeps the current request where signal receivers can find it: a permission change made by saving a
user or a group in the admin reaches the audit log through `m2m_changed`, which knows no request."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


class CurrentRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reset = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(reset)
