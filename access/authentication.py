"""`Authorization: Token <key>` for the API: hashed keys, scopes, last use, and failed attempts throttled.

Failed attempts (and failed sign-ins: access.backends) are counted per client address in the shared cache
(Redis or the database, so every gunicorn worker sees the same count). Once an address has
API_FAILED_AUTH_PER_MINUTE failures in the current minute, every token request from it is refused with 429
until that minute ends, valid keys included: answering a valid key differently would tell a guesser
when it had found one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled
from rest_framework.request import Request

from audit.log import client_address
from core.scopes import scope_refusal

from .models import ApiToken
from .tokens import find_token, record_use

KEYWORD = "Token"
WINDOW_SECONDS = 60


def _failures_key(address: str) -> str:
    return f"auth-failures:{address}"


def failed_attempts(address: str) -> int:
    return int(cache.get(_failures_key(address), 0))


def count_failure(address: str) -> None:
    key = _failures_key(address)
    if cache.add(key, 1, timeout=WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        address = client_address(request) or "unknown"
        if failed_attempts(address) >= settings.API_FAILED_AUTH_PER_MINUTE:
            raise Throttled(WINDOW_SECONDS, detail="Too many failed authentications from this address.")
        if len(header) != 2:
            count_failure(address)
            raise AuthenticationFailed("Invalid token header: send `Authorization: Token <key>`.")
        try:
            key = header[1].decode()
        except UnicodeError:
            key = ""
        token = find_token(key)
        if token is None or not token.user.is_active:
            count_failure(address)
            raise AuthenticationFailed("Invalid token.")
        record_use(token, request)
        view: Any = (request.parser_context or {}).get("view")
        refusal = scope_refusal(token.scope, view, request.method or "")
        if refusal:
            raise PermissionDenied(refusal)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
