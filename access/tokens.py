"""Issuing, finding, using and revoking API tokens: the one way each is done (admin, command, tests).

A key is `ecm_` + 43 URL-safe characters (256 random bits), so SHA-256 without a salt or slow hashing is
enough: nobody can guess or brute-force such a key, and a fast hash keeps each request's check cheap.
The prefix (the first 12 characters) finds the candidate rows; the hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.log import client_address, record
from audit.models import AuditAction
from core.actors import Actor
from core.scopes import TokenScope

from .models import PREFIX_LENGTH, ApiToken

KEY_PREFIX = "ecm_"
USE_RECORD_INTERVAL = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def set_key(token: ApiToken, key: str) -> None:
    """Stores what identifies `key` on the (unsaved or saved) row: its prefix and hash, never the key."""
    token.prefix = key[:PREFIX_LENGTH]
    token.key_hash = hash_key(key)


def issue_token(
    user: User,
    scope: TokenScope | str = TokenScope.FULL,
    name: str = "",
    *,
    by: Actor = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token of `user` and its key, the only time the key is known (show it once, then forget it)."""
    if scope not in TokenScope.values:
        raise ValueError(f"unknown scope {scope!r}: one of {', '.join(TokenScope.values)}")
    key = new_key()
    token = ApiToken(user=user, scope=str(scope), name=name or f"{user.get_username()}-{scope}")
    set_key(token, key)
    token.created_by = by if isinstance(by, User) else None
    with transaction.atomic():
        token.save()
        record_issue(token, by=by, request=request)
    return token, key


def record_issue(token: ApiToken, *, by: Actor, request: HttpRequest | None = None) -> None:
    record(by, AuditAction.TOKEN_CREATE, token, details={"user": token.user.get_username(), "scope": token.scope,
                                                          "prefix": token.prefix}, request=request)


def revoke_token(token: ApiToken, *, by: Actor = None, request: HttpRequest | None = None) -> bool:
    """Revokes the token (it keeps its row); False when it already was."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if changed:
            token.refresh_from_db(fields=["revoked_at"])
            record(by, AuditAction.TOKEN_REVOKE, token, details={"user": token.user.get_username(),
                                                                  "prefix": token.prefix}, request=request)
    return bool(changed)


def find_token(key: str) -> ApiToken | None:
    """The active token whose key this is, or None. Rows are found by prefix; the hashes are compared in
    constant time, so the answer's timing says nothing about how much of a key was right."""
    if len(key) < PREFIX_LENGTH or len(key) > 200:
        return None
    wanted = hash_key(key)
    found = None
    for token in ApiToken.objects.select_related("user").filter(prefix=key[:PREFIX_LENGTH]):
        if hmac.compare_digest(token.key_hash, wanted):
            found = token
    if found is None or found.revoked_at is not None:
        return None
    return found


def record_use(token: ApiToken, request: HttpRequest) -> None:
    """Notes the token's last use, at most once per USE_RECORD_INTERVAL (not a write on every request)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < USE_RECORD_INTERVAL:
        return
    token.last_used_at, token.last_used_ip = now, client_address(request)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=token.last_used_ip)
