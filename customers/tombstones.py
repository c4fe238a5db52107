"""Tombstones of erased customers: who may not come back through an import, a bulk call or a single create.

A tombstone keeps HMAC-SHA256 digests of the external id and of the normalised email, keyed by this
install's SECRET_KEY (its fallbacks are checked too, so rotating the key keeps the tombstones working):
the values themselves are gone, and without the key nobody can test a guessed address against the table.
`ErasedCheck` loads the tombstones once per serializer (one query for a whole bulk batch) and names the
field and the reason of a refusal, so the API and the importer report it like any other row error.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

from .models import Customer, ErasedCustomer

_SALT = "customers.tombstones"
ERASED = "erased customer"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def digests(value: str) -> list[str]:
    """The value's digest under the current SECRET_KEY, then under each fallback key."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [salted_hmac(_SALT, value, secret=key, algorithm="sha256").hexdigest() for key in keys]


def new_pseudonym() -> str:
    """A random name for the anonymised row: it tells nothing about the person, even with the key."""
    return f"erased-{secrets.token_hex(8)}"


def bury(customer: Customer, pseudonym: str) -> ErasedCustomer:
    """The customer's tombstone, written once (before the row is anonymised); a second call returns it."""
    existing = ErasedCustomer.objects.filter(customer=customer).first()
    if existing is not None:
        return existing
    email = normalise_email(customer.email)
    tombstone, _ = ErasedCustomer.objects.get_or_create(
        external_id_digest=digests(customer.external_id)[0],
        defaults={
            "pseudonym": pseudonym,
            "email_digest": digests(email)[0] if email else "",
            "customer": customer,
        },
    )
    return tombstone


class ErasedCheck:
    """Answers "does this row bring back an erased customer?" for many rows with one query."""

    def __init__(self) -> None:
        rows = list(ErasedCustomer.objects.values_list("pseudonym", "external_id_digest", "email_digest"))
        self.pseudonyms = {pseudonym for pseudonym, _, _ in rows}
        self.ids = {digest for _, digest, _ in rows}
        self.emails = {digest for _, _, digest in rows if digest}

    def problems(self, external_id: str | None = None, email: str | None = None) -> dict[str, str]:
        """{field: reason} for each field naming an erased person (empty when none does)."""
        found: dict[str, str] = {}
        if not (self.ids or self.pseudonyms):
            return found
        if external_id:
            if external_id in self.pseudonyms:
                found["external_id"] = f"{ERASED}: {external_id} is an anonymised record and takes no new data"
            elif any(d in self.ids for d in digests(external_id)):
                found["external_id"] = f"{ERASED}: this external id belonged to a person whose data was erased"
        if email and any(d in self.emails for d in digests(normalise_email(email))):
            found["email"] = f"{ERASED}: this address belonged to a person whose data was erased"
        return found
