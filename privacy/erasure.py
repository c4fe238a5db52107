"""Erasing a customer (the right to erasure): delete what is only about the person, anonymise what the shop
must keep, and leave a tombstone so no import or API call brings them back.

Kept, anonymised (the shop's accounts and statistics):
- the customer row: external id replaced by a random pseudonym, email, name and attributes blanked, consent
  off, `erased_at` set (profiles, predictions and recommendations skip it from then on);
- purchases (order id, product, quantity, value: the accounts) and exposure, open, click and unsubscribe
  events (what experiment outcomes count): search text blanked, attributes cut to the campaign tags;
- experiment assignments: they point at the anonymised row, so every arm's counts stay as they were;
- reviews they wrote: the author link removed; emails, phone numbers and the full name redacted from the
  text. The text and rating stay because the product's insight counts (ratings, aspects, quotes) are
  built from them and other shoppers read them; deleting them would change the insight pages' figures.
Deleted (only about the person): profile (vector, interests, RFM), predictions, recommendation set, views,
searches and add-to-carts, messages sent to them (recipient and personalised body), copy written for them
alone, assistant conversations with their turns, cached generated texts that name them, and what the
retention job carried over of their deleted views and searches (per-product and per-search weights; the
carried order totals stay, as accounts), and their uplift scores.
Earlier audit entries about the customer keep the act but are relabelled with the pseudonym.

`erase_customer` does it in one transaction on the locked row and returns the report (per table, what was
deleted and what anonymised). It is idempotent: a second run finds nothing left and reports zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django.utils import timezone

from assistant.models import Conversation, ConversationMessage
from assistant.redaction import redact
from audit.log import record
from audit.models import AuditAction, AuditEntry
from campaigns.models import Assignment, Message, UpliftScore, Variant
from catalog.models import GeneratedText, Review
from core.actors import Actor, has_perm
from customers.models import (
    CarriedProductWeight,
    CarriedSearchWeight,
    CarriedTotals,
    Customer,
    CustomerPrediction,
    CustomerProfile,
    Event,
    EventType,
)
from customers.tombstones import bury, new_pseudonym
from jobs.models import Job
from jobs.runner import start_job
from recommendations.models import RecommendationSet

from . import mail_logs
from .export import MIN_NAME_CHARS, naming_q

ERASE_JOB = "erase_customer"
PERMISSION = "customers.erase_customer"
# events kept (anonymised): the accounts, and what experiment outcomes and unsubscribe counts read
KEPT_EVENTS = [EventType.PURCHASE, EventType.EXPOSURE, EventType.OPEN, EventType.CLICK, EventType.UNSUBSCRIBE]
KEPT_ATTRIBUTES = ["campaign", "message", "arm", "variant"]  # the tags attribution reads; nothing personal
NAME = "[name]"
EXTERNAL_NOTE = (
    "Copies outside this database are out of reach: mail already delivered, the SMTP relay's or the webhook "
    "provider's logs, backups. Ask those providers if the person's request covers them."
)


@dataclass
class ErasureReport:
    pseudonym: str
    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  # rows left as they are, for the shop's figures
    files: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def delete(self, model: type[Model], count: int) -> None:
        self.deleted[model._meta.label_lower] = self.deleted.get(model._meta.label_lower, 0) + count

    def anonymise(self, model: type[Model], count: int) -> None:
        self.anonymised[model._meta.label_lower] = self.anonymised.get(model._meta.label_lower, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pseudonym,
            "deleted": self.deleted,
            "anonymised": self.anonymised,
            "kept": self.kept,
            "files": self.files,
            "notes": self.notes,
        }


def check_erase(actor: Actor) -> None:
    if not has_perm(actor, PERMISSION):
        raise PermissionDenied(f"erasing personal data needs the permission {PERMISSION}")


def request_erasure(actor: Actor, customer: Customer) -> Job:
    """Check who asks and queue the erasure job (the API's erase and DELETE, and the admin's button)."""
    check_erase(actor)
    return start_job(ERASE_JOB, {"customer_id": customer.pk}, user=actor)


def erase_customer(
    customer_id: int, *, actor: Actor | str = None, request: HttpRequest | None = None
) -> dict[str, Any]:
    """Erase one customer (see the module docstring) and write the audit entry; returns the report."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise ValueError(f"customer {customer_id} does not exist")
        tombstone = bury(customer, new_pseudonym())
        report = ErasureReport(tombstone.pseudonym)
        first_time = customer.erased_at is None
        needles = [customer.email, *Message.objects.filter(customer=customer).values_list("recipient", flat=True)]
        if first_time:
            _generated_texts(customer, report)
            _reviews(customer, report)
        _delete_owned(customer, report)
        _events(customer, report)
        if first_time:
            Customer.objects.filter(pk=customer.pk).update(
                external_id=tombstone.pseudonym, email="", name="", attributes={}, marketing_consent=False,
                erased_at=timezone.now(), updated_at=timezone.now(),
            )
        report.anonymise(Customer, int(first_time))
        report.kept = {
            Assignment._meta.label_lower: Assignment.objects.filter(customer=customer).count(),
            Event._meta.label_lower: Event.objects.filter(customer=customer).count(),
            CarriedTotals._meta.label_lower: CarriedTotals.objects.filter(customer=customer).count(),
        }
        # the audit log keeps every act, but names the person by pseudonym from now on
        report.anonymise(AuditEntry, AuditEntry.objects.filter(
            target_type=Customer._meta.label_lower, target_id=str(customer.pk)
        ).exclude(target_label=tombstone.pseudonym).update(target_label=tombstone.pseudonym))
        scrubbed = mail_logs.scrub([Path(settings.EMAIL_FILE_PATH), Path(settings.CAMPAIGN_EXPORT_DIR)], needles)
        report.files = {"scrubbed": scrubbed.files, "occurrences": scrubbed.occurrences, "too_big": scrubbed.skipped}
        report.notes.append(EXTERNAL_NOTE)
        result = report.as_dict()
        record(
            actor, AuditAction.ERASE, customer, request=request, target_label=tombstone.pseudonym,
            details={key: result[key] for key in ("deleted", "anonymised", "kept", "files")},
        )
    return result


def _delete_owned(customer: Customer, report: ErasureReport) -> None:
    """Rows that exist only because of the person: deleted."""
    report.delete(CustomerProfile, CustomerProfile.objects.filter(customer=customer).delete()[0])
    report.delete(CustomerPrediction, CustomerPrediction.objects.filter(customer=customer).delete()[0])
    report.delete(UpliftScore, UpliftScore.objects.filter(customer=customer).delete()[0])
    report.delete(RecommendationSet, RecommendationSet.objects.filter(customer=customer).delete()[0])
    report.delete(Message, Message.objects.filter(customer=customer).delete()[0])
    # copy written for them alone; one that became an arm (never done by the app) loses its link instead
    personal = Variant.objects.filter(customer=customer)
    report.anonymise(Variant, personal.filter(arms__isnull=False).distinct().update(customer=None, prompt=""))
    report.delete(Variant, personal.delete()[0])
    conversations = Conversation.objects.filter(customer=customer)
    report.delete(ConversationMessage, ConversationMessage.objects.filter(conversation__in=conversations).count())
    report.delete(Conversation, conversations.count())
    conversations.delete()  # their turns (and unanswered questions) go with them
    report.delete(Event, Event.objects.filter(customer=customer).exclude(type__in=KEPT_EVENTS).delete()[0])
    # what retention kept of deleted events: interests and searches are the person's; the order totals
    # (CarriedTotals: counts, revenue, dates, nothing personal) stay with the anonymised row as accounts
    report.delete(CarriedProductWeight, CarriedProductWeight.objects.filter(customer=customer).delete()[0])
    report.delete(CarriedSearchWeight, CarriedSearchWeight.objects.filter(customer=customer).delete()[0])


def _events(customer: Customer, report: ErasureReport) -> None:
    """Kept events lose their free text and every attribute but the campaign tags (rows changed only)."""
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET query = '', attributes = COALESCE(
                    (SELECT jsonb_object_agg(key, value) FROM jsonb_each(attributes) WHERE key = ANY(%(keep)s)),
                    '{{}}'::jsonb)
                WHERE customer_id = %(customer)s AND (query <> '' OR EXISTS (
                    SELECT 1 FROM jsonb_object_keys(attributes) k WHERE NOT (k = ANY(%(keep)s))))""",
            {"keep": KEPT_ATTRIBUTES, "customer": customer.pk},
        )
        report.anonymise(Event, cursor.rowcount)


def _reviews(customer: Customer, report: ErasureReport) -> None:
    """The author link goes; contact details and the full name leave the text (saved only when they were
    there, so an untouched review is not analysed again)."""
    name = customer.name.strip()
    changed = 0
    for review in Review.objects.filter(customer=customer):
        title, text = (_clean(value, name) for value in (review.title, review.text))
        if (title, text) != (review.title, review.text):
            review.title, review.text = title, text
            review.save(update_fields=["title", "text", "updated_at"])
            changed += 1
    report.anonymise(Review, Review.objects.filter(customer=customer).update(customer=None))
    if changed:
        report.notes.append(f"{changed} review text(s) redacted; they are analysed again.")


def _clean(value: str, name: str) -> str:
    value = redact(value)
    if len(name) >= MIN_NAME_CHARS:
        value = re.sub(re.escape(name), NAME, value, flags=re.IGNORECASE)
    return value


def _generated_texts(customer: Customer, report: ErasureReport) -> None:
    query: Q | None = naming_q(customer, "prompt", "output")
    report.delete(GeneratedText, GeneratedText.objects.filter(query).delete()[0] if query is not None else 0)
