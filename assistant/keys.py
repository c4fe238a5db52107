"""Publishable keys: the storefront widget's credential, its allowed origins and the CORS headers.

A publishable key sits in the shop's HTML, so anyone can read it: it proves nothing about the caller but
which site's widget it is. It therefore only lets a caller ask (create a conversation, post a message, read
its own conversation, give feedback), only from a page of one of the key's allowed origins, and never with
a customer. Every other endpoint ignores the header (the caller is anonymous there: 401).

The origin is the request's `Origin` header (browsers send it on every cross-origin request and on
same-origin POSTs); a same-origin GET carries none, so the `Referer`'s origin stands in for it. Neither can
stop a script outside a browser, which may send any header: the origin check keeps other *sites* from using
the key in their visitors' browsers, and the rate limits (throttles.py) bound what a script can do.

CORS: preflights (OPTIONS without the key header, which browsers never send on a preflight) are answered
for an origin that some active key allows; real responses carry `Access-Control-Allow-Origin` only when the
key itself allows the origin. Both only under ASSISTANT_API_PREFIX (AssistantCorsMiddleware).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.permissions import ModelPermissions

from .models import PublishableKey

KEY_HEADER = "X-Publishable-Key"
ASSISTANT_API_PREFIX = "/api/v1/assistant/"
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Accept, Content-Type, X-Publishable-Key"
EXPOSED_HEADERS = "Retry-After"
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight (Chromium caps it at 7200)
_CORS_ORIGIN = "assistant_cors_origin"  # attribute on the HttpRequest: the origin the response may name
_PAGE_ORIGIN = "assistant_origin"  # attribute on the HttpRequest: the verified page origin of a key request


def normalise_origin(value: str) -> str:
    """`scheme://host[:port]` in lower case, or "" when `value` is no http(s) origin (e.g. "null")."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def request_origin(request: HttpRequest) -> str:
    """The page origin a browser request comes from: `Origin`, else the origin of `Referer`, else ""."""
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin:
        return normalise_origin(origin)
    return normalise_origin(request.META.get("HTTP_REFERER", ""))


def allows(key: PublishableKey, origin: str) -> bool:
    """Whether `origin` is one of the key's allowed origins (exact scheme, host and port)."""
    return bool(origin) and origin in {normalise_origin(str(o)) for o in key.allowed_origins or []}


def page_origin(request: Request) -> str:
    """The verified page origin of a key request ("" for token and session callers)."""
    return str(getattr(request._request, _PAGE_ORIGIN, ""))


def key_of(request: Request) -> PublishableKey | None:
    """The publishable key the request authenticated with, or None (a token, a session, nobody)."""
    return request.auth if isinstance(request.auth, PublishableKey) else None


class PublishableKeyAuthentication(BaseAuthentication):
    """`X-Publishable-Key: pk_...` from an allowed origin. The caller stays anonymous (no user); the key is
    `request.auth`. Unknown or inactive key: 401; no or another origin: 403 naming it."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PublishableKey] | None:
        raw = request.META.get("HTTP_X_PUBLISHABLE_KEY")
        if raw is None:
            return None
        key = PublishableKey.objects.filter(key=raw.strip()).first()
        if key is None:
            raise AuthenticationFailed(f"unknown publishable key ({KEY_HEADER})")
        origin = request_origin(request._request)
        if allows(key, origin):  # even errors may be read by the widget of an allowed page
            setattr(request._request, _CORS_ORIGIN, origin)
        if not key.is_active:
            raise AuthenticationFailed(f"the publishable key of {key.site} is inactive")
        if not origin:
            raise PermissionDenied(
                "a publishable key is accepted only from a web page: the request has no Origin header"
            )
        if not allows(key, origin):
            raise PermissionDenied(f"origin {origin} is not allowed for the publishable key of {key.site}")
        setattr(request._request, _PAGE_ORIGIN, origin)
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return KEY_HEADER


class PublishableKeyScheme(OpenApiAuthenticationExtension):
    """The key in the OpenAPI schema (registered by being defined)."""

    target_class = PublishableKeyAuthentication
    name = "publishableKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": KEY_HEADER,
                "description": "The storefront widget's publishable key; only from its allowed origins."}


class AssistantPermission(BasePermission):
    """Key callers may take only the view's `key_actions`; token and session callers need the Django
    permissions the view names per action (`staff_permissions`), else the model permissions."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if key_of(request) is not None:
            return getattr(view, "action", None) in getattr(view, "key_actions", ())
        needed = getattr(view, "staff_permissions", {}).get(getattr(view, "action", None))
        if needed is None:
            return ModelPermissions().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(needed))


# --- CORS ------------------------------------------------------------------------------------------------

def _cors_headers(response: HttpResponse, origin: str) -> None:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip()]
    if "Origin" not in vary:
        response["Vary"] = ", ".join([*vary, "Origin"])


def _is_preflight(request: HttpRequest) -> bool:
    return request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META


def _any_active_key_allows(origin: str) -> bool:
    return bool(origin) and any(
        allows(key, origin) for key in PublishableKey.objects.filter(is_active=True).only("allowed_origins")
    )


def preflight(request: HttpRequest) -> HttpResponse:
    """The answer to a CORS preflight: 204 with the allowed methods and headers for an origin that an
    active key allows, else 403 without CORS headers (the browser then refuses the real request)."""
    origin = normalise_origin(request.META.get("HTTP_ORIGIN", ""))
    if not _any_active_key_allows(origin):
        refused = JsonResponse({"detail": f"origin {origin or '(none)'} is not allowed by any publishable key"},
                               status=403)
        refused["Vary"] = "Origin"
        return refused
    response = HttpResponse(status=204)
    _cors_headers(response, origin)
    response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


class AssistantCorsMiddleware:
    """CORS for the assistant's endpoints only: preflights answered here (before DRF, which would ask
    for credentials a preflight never carries), and `Access-Control-Allow-Origin` on responses to key
    requests whose origin the key allows (set by PublishableKeyAuthentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(ASSISTANT_API_PREFIX):
            return self.get_response(request)
        if _is_preflight(request):
            return preflight(request)
        response = self.get_response(request)
        origin = getattr(request, _CORS_ORIGIN, "")
        if origin:
            _cors_headers(response, origin)
        return response
