"""Everything stored about one customer, as one JSON document (the right of access).

`export_customer` reads every table that holds the person or their doings: the customer row, profile and
segments, predictions, events, the reviews they wrote, their recommendation set, the messages sent to them
and their experiment assignments, copy written for them alone, their assistant conversations, and cached
generated texts that name them (by email, or by full name when it is long enough to mean them). Nothing of
another customer is read: every query filters on this customer. `do_export` adds the audit entry.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from assistant.models import Conversation, ConversationMessage
from audit.log import record
from audit.models import AuditAction
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
)
from recommendations.models import RecommendationSet

FORMAT = "ecommarketing.customer-export/1"
MIN_NAME_CHARS = 5  # a shorter name ("Ann") would match unrelated texts


def naming_q(customer: Customer, *fields: str) -> Q | None:
    """Rows whose text `fields` contain the customer's email or full name; None when nothing names them."""
    needles = [customer.email] if customer.email else []
    if len(customer.name.strip()) >= MIN_NAME_CHARS:
        needles.append(customer.name.strip())
    query: Q | None = None
    for needle in needles:
        for name in fields:
            term = Q(**{f"{name}__icontains": needle})
            query = term if query is None else query | term
    return query


def _profile(customer: Customer) -> dict[str, Any] | None:
    profile = (
        CustomerProfile.objects.filter(customer=customer)
        .select_related("lifecycle_segment", "behaviour_segment")
        .first()
    )
    if profile is None:
        return None
    return {
        "lifecycle": profile.lifecycle,
        "interests": profile.interests,
        "orders": profile.orders,
        "revenue": profile.revenue,
        "first_order_at": profile.first_order_at,
        "last_order_at": profile.last_order_at,
        "last_seen_at": profile.last_seen_at,
        "recency_days": profile.recency_days,
        "rfm_score": profile.rfm_score,
        "has_vector": profile.vector is not None,
        "updated_at": profile.updated_at,
    }


def _segments(customer: Customer) -> list[dict[str, Any]]:
    profile = (
        CustomerProfile.objects.filter(customer=customer)
        .select_related("lifecycle_segment", "behaviour_segment")
        .first()
    )
    if profile is None:
        return []
    found = [s for s in (profile.lifecycle_segment, profile.behaviour_segment) if s is not None]
    return [{"key": s.key, "kind": s.kind, "name": s.name} for s in found]


def _conversations(customer: Customer) -> list[dict[str, Any]]:
    conversations = list(
        Conversation.objects.filter(customer=customer).order_by("created_at").values(
            "id", "status", "language", "origin", "handoff_reason", "created_at", "closed_at"
        )
    )
    turns: dict[Any, list[dict[str, Any]]] = {c["id"]: [] for c in conversations}
    for turn in ConversationMessage.objects.filter(conversation__customer=customer).order_by("created_at", "pk").values(
        "conversation_id", "author", "text", "created_at", "feedback"
    ):
        row = dict(turn)
        turns[row.pop("conversation_id")].append(row)
    return [{**c, "messages": turns[c["id"]]} for c in conversations]


def export_customer(customer: Customer) -> dict[str, Any]:
    """The document: one key per section, each a list (or an object for the customer and profile)."""
    generated = naming_q(customer, "prompt", "output")
    return {
        "format": FORMAT,
        "exported_at": timezone.now(),
        "customer": {
            "id": customer.pk,
            "external_id": customer.external_id,
            "email": customer.email,
            "name": customer.name,
            "locale": customer.locale,
            "marketing_consent": customer.marketing_consent,
            "attributes": customer.attributes,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
            "erased_at": customer.erased_at,
        },
        "profile": _profile(customer),
        "segments": _segments(customer),
        "predictions": list(
            CustomerPrediction.objects.filter(customer=customer).order_by("target").values(
                "target", "probability", "value", "predicted_at", "computed_at", model_name=related("model_version")
            )
        ),
        "uplift_scores": list(
            UpliftScore.objects.filter(customer=customer).order_by("computed_at", "pk").values(
                "uplift", "computed_at", model_name=related("model__version", "name"),
            )
        ),
        "events": list(
            Event.objects.filter(customer=customer).order_by("occurred_at", "pk").values(
                "external_id", "type", "query", "order_id", "quantity", "value", "attributes", "occurred_at",
                product_sku=related("product", "sku"),
            )
        ),
        # what the retention job kept of events it deleted (customers/retention.py)
        "carried_over": _carried(customer),
        "reviews": list(
            Review.objects.filter(customer=customer).order_by("created_at", "pk").values(
                "external_id", "rating", "title", "text", "language", "source", "created_at",
                product_sku=related("product", "sku"),
            )
        ),
        "recommendations": list(
            RecommendationSet.objects.filter(customer=customer).values("items", "computed_at")
        ),
        "messages": list(
            Message.objects.filter(customer=customer).order_by("created_at", "pk").values(
                "channel", "recipient", "subject", "body", "status", "created_at", "sent_at",
                campaign_name=related("campaign", "name"), arm_key=related("arm", "key"),
            )
        ),
        "assignments": list(
            Assignment.objects.filter(customer=customer).order_by("assigned_at", "pk").values(
                "assigned_at", campaign_name=related("experiment__campaign", "name"), arm_key=related("arm", "key"),
            )
        ),
        "personal_variants": list(
            Variant.objects.filter(customer=customer).order_by("created_at", "pk").values(
                "label", "subject", "preheader", "body", "status", "created_at",
                campaign_name=related("campaign", "name"),
            )
        ),
        "conversations": _conversations(customer),
        "generated_texts": list(
            GeneratedText.objects.filter(generated).order_by("created_at", "pk").values(
                "model_name", "prompt", "output", "created_at"
            )
        ) if generated is not None else [],
    }


def _carried(customer: Customer) -> dict[str, Any]:
    """Aggregates of events older than the retention window: totals, and decayed weights per product and
    per search (the search text is the customer's own words)."""
    return {
        "totals": CarriedTotals.objects.filter(customer=customer).values(
            "orders", "revenue", "first_order_at", "last_order_at", "last_seen_at", "events", "updated_at"
        ).first(),
        "product_weights": list(
            CarriedProductWeight.objects.filter(customer=customer).order_by("product_id").values(
                "weight", "as_of", product_sku=related("product", "sku")
            )
        ),
        "searches": list(
            CarriedSearchWeight.objects.filter(customer=customer).order_by("query").values("query", "weight", "as_of")
        ),
    }


def related(relation: str, field: str = "name") -> Any:
    """A related object's field as a plain value in `.values()` (a product's SKU, a campaign's name)."""
    return F(f"{relation}__{field}")


SECTIONS = [
    "profile", "segments", "predictions", "events", "reviews", "recommendations", "messages", "assignments",
    "uplift_scores",
    "personal_variants", "conversations", "generated_texts",
]


def section_counts(document: dict[str, Any]) -> dict[str, int]:
    """How many rows each section holds (what the audit entry records, never the data)."""
    counts = {}
    for name in SECTIONS:
        value = document[name]
        counts[name] = len(value) if isinstance(value, list) else int(value is not None)
    return counts


def check_export(actor: Actor, customer: Customer) -> None:
    """Exporting personal data is a deliberate act: it needs its own permission, not only a view."""
    if not has_perm(actor, "customers.export_customer"):
        raise PermissionDenied("exporting personal data needs the permission customers.export_customer")


def do_export(actor: Actor | str, customer: Customer, request: HttpRequest | None = None) -> dict[str, Any]:
    """The document, with an audit entry naming the customer by id (never by name or email)."""
    with transaction.atomic():
        document = export_customer(customer)
        record(
            actor, AuditAction.EXPORT, customer, details={"sections": section_counts(document)}, request=request,
            target_label=f"customer {customer.pk}",
        )
    return document
