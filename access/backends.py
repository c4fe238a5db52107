"""Failed sign-ins count per client address too, with failed token authentications (one counter).

django-axes locks a username + address after ADMIN_LOGIN_FAILURE_LIMIT failures, which leaves an address
free to try one password on many usernames. This backend, after axes and before the password check,
refuses every sign-in from an address that has API_FAILED_AUTH_PER_MINUTE failures this minute.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from audit.log import client_address

from .authentication import count_failure, failed_attempts


class AddressThrottleBackend:
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        address = client_address(request) if request is not None else None
        if address and failed_attempts(address) >= settings.API_FAILED_AUTH_PER_MINUTE:
            raise PermissionDenied("too many failed sign-ins from this address")  # stops the other backends
        return None  # no `get_user`: never the backend a session is restored by (force_login picks the first with one)


@receiver(user_login_failed)
def count_failed_login(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                       **kwargs: Any) -> None:
    address = client_address(request) if request is not None else None
    if address:
        count_failure(address)
