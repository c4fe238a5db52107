"""Unsubscribe links: a signed token per customer, the links and headers every email carries, and the step.

The token is `django.core.signing` of the customer's id with its own salt, without expiry: a link in a
years-old email must still work (RFC 8058 asks for one-click unsubscribe from any message received). Only
someone holding a mail sent to the customer has it; changing a character breaks the signature (400).
A test send carries the token of the word "test", which the page recognises and changes nothing for.

`do_unsubscribe(customer, via, request=None)`: marketing consent off, an `unsubscribe` event (the audience
rule in `campaigns.audience` excludes anyone with one at or after their consent, even if an import later
sets the consent again without saying when), and an audit entry with the actor "customer", in one
transaction. Unsubscribing twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from audit.log import record
from audit.models import AuditAction

from .models import Customer, Event, EventType

SALT = "customers.unsubscribe"
TEST_TOKEN_VALUE = "test"
ONE_CLICK = "List-Unsubscribe=One-Click"  # the body (and header value) RFC 8058 defines
ACTOR = "customer"


class BadToken(ValueError):
    """The link was changed or never signed here."""


def token_for(customer: Customer | None) -> str:
    """The customer's unsubscribe token (None: the harmless token of a test send)."""
    value = TEST_TOKEN_VALUE if customer is None else customer.pk
    return signing.dumps(value, salt=SALT)


@dataclass(frozen=True)
class Unsubscribing:
    """What a token names: a customer id, or a test send (customer_id None)."""

    customer_id: int | None

    @property
    def is_test(self) -> bool:
        return self.customer_id is None


def read_token(token: str) -> Unsubscribing:
    """The customer id a token names; raises BadToken when it was tampered with."""
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise BadToken("this unsubscribe link is damaged or was not sent by this shop") from exc
    if value == TEST_TOKEN_VALUE:
        return Unsubscribing(None)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadToken("this unsubscribe link is damaged or was not sent by this shop")
    return Unsubscribing(value)


def unsubscribe_url(customer: Customer | None) -> str:
    """The absolute link (PUBLIC_BASE_URL) a customer opens or a mail client posts to."""
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[token_for(customer)])


def list_unsubscribe_headers(customer: Customer | None) -> dict[str, str]:
    """`List-Unsubscribe` (https, plus mailto when UNSUBSCRIBE_MAILTO is set) and `List-Unsubscribe-Post`."""
    links = [f"<{unsubscribe_url(customer)}>"]
    if settings.UNSUBSCRIBE_MAILTO:
        links.append(f"<mailto:{settings.UNSUBSCRIBE_MAILTO}?subject={quote('unsubscribe ' + token_for(customer))}>")
    return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": ONE_CLICK}


def do_unsubscribe(customer: Customer, via: str, request: HttpRequest | None = None) -> bool:
    """Take the customer out of marketing (see the module docstring); False when they already were out."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if not locked.marketing_consent:
            return False
        now = timezone.now()
        Customer.objects.filter(pk=locked.pk).update(marketing_consent=False, updated_at=now)
        Event.objects.create(
            external_id=f"unsubscribe-{locked.pk}-{now:%Y%m%dT%H%M%S%f}", customer=locked,
            type=EventType.UNSUBSCRIBE, occurred_at=now, attributes={"via": via},
        )
        record(ACTOR, AuditAction.UNSUBSCRIBE, locked, details={"via": via}, request=request)
    customer.marketing_consent = False
    return True
