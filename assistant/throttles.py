"""Rate limits of the assistant's questions: per publishable key (the key's `rate_per_minute`, for the whole
site) and per client address (ASSISTANT_RATE_PER_ADDRESS, e.g. "20/min"). Only asking counts (creating a
conversation, posting a message), so a widget polling for a staff reply does not use up its site's questions;
the project's default throttles still bound every request.

The address is never stored: the conversation and the throttle's cache key hold a salted hash of it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .keys import key_of

DEFAULT_RATE_PER_ADDRESS = "20/min"
_HASH_SALT = "assistant.client-address"


def client_address(request: Request) -> str:
    """The caller's address. X-Forwarded-For is trusted only when NUM_PROXIES says how many proxies
    stand in front: otherwise a caller could name a new address on every request and never be limited."""
    if api_settings.NUM_PROXIES:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-min(api_settings.NUM_PROXIES, len(forwarded))]
    return str(request.META.get("REMOTE_ADDR", ""))


def client_hash(request: Request) -> str:
    """Salted (with SECRET_KEY) SHA-256 of the client address: the same address gives the same hash on
    this installation, and the hash does not give the address back."""
    return salted_hmac(_HASH_SALT, client_address(request), algorithm="sha256").hexdigest()


class _QuestionThrottle(SimpleRateThrottle):
    """Counts only the actions a view lists in `throttled_actions` (the questions)."""

    message = "Too many questions."

    def get_rate(self) -> str | None:
        return None  # set per request in allow_request

    def counts(self, request: Request, view: Any) -> bool:
        return getattr(view, "action", None) in getattr(view, "throttled_actions", ())

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = self.rate_for(request) if self.counts(request, view) else None
        if rate is None:
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request, view)

    def rate_for(self, request: Request) -> str | None:
        raise NotImplementedError


class KeyRateThrottle(_QuestionThrottle):
    """The key's `rate_per_minute` questions per minute, shared by every visitor of its site."""

    scope = "assistant_key"
    message = "Too many questions from this site: try again in a minute."

    def rate_for(self, request: Request) -> str | None:
        key = key_of(request)
        return None if key is None else f"{key.rate_per_minute}/min"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = key_of(request)
        return None if key is None else self.cache_format % {"scope": self.scope, "ident": key.pk}


class AddressRateThrottle(_QuestionThrottle):
    """ASSISTANT_RATE_PER_ADDRESS questions per client address, for key callers (the public)."""

    scope = "assistant_address"
    message = "Too many questions from your address: please wait before asking again."

    def rate_for(self, request: Request) -> str | None:
        if key_of(request) is None:
            return None
        return str(getattr(settings, "ASSISTANT_RATE_PER_ADDRESS", DEFAULT_RATE_PER_ADDRESS))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_hash(request)}
