"""What the customers' API reads and writes: serializers of customers, events, profiles and segments.

`CustomerSerializer` and `EventSerializer` validate every written row, from the API (one object or
bulk) and from imports alike (see `upserts.py`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from catalog.serializers import ModelVersionSerializer
from core.moments import check_plausible
from core.upsert import BatchLookupSlugField, UpsertKeyMixin
from core.viewsets import check_json_object, check_not_blank

from .behaviour import PRODUCT_EVENTS
from .models import Customer, CustomerPrediction, CustomerProfile, Event, EventType, Segment
from .tombstones import ERASED, ErasedCheck


class RefusesErased:
    """Refuses rows that would bring back an erased customer (see tombstones.py). The tombstones are read
    once per serializer, and one serializer validates a whole bulk batch or import chunk."""

    _erased: ErasedCheck | None = None

    def erased_check(self) -> ErasedCheck:
        if self._erased is None:
            self._erased = ErasedCheck()
        return self._erased


class CustomerSerializer(RefusesErased, UpsertKeyMixin, serializers.ModelSerializer[Customer]):
    upsert_key = "external_id"

    class Meta:
        model = Customer
        fields = [
            "id", "external_id", "email", "name", "locale", "marketing_consent", "attributes",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]

    def validate_external_id(self, value: str) -> str:
        return check_not_blank(value)

    def validate_attributes(self, value: Any) -> Any:
        return check_json_object(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and self.instance.erased_at is not None:
            raise serializers.ValidationError(
                {"external_id": f"{ERASED}: {self.instance.external_id} is an anonymised record and takes no new data"}
            )
        problems = self.erased_check().problems(attrs.get("external_id"), attrs.get("email"))
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class EventSerializer(RefusesErased, UpsertKeyMixin, serializers.ModelSerializer[Event]):
    upsert_key = "external_id"
    customer = BatchLookupSlugField(
        slug_field="external_id", queryset=Customer.objects.all(), help_text="Customer external id."
    )
    product = BatchLookupSlugField(
        slug_field="sku", queryset=Product.objects.all(), required=False, allow_null=True,
        help_text="Product SKU (required for view, add_to_cart and purchase).",
    )
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, write_only=True, min_value=Decimal(0),
        help_text="Price of one unit; with quantity it gives `value` when `value` is not sent.",
    )

    class Meta:
        model = Event
        fields = [
            "id", "external_id", "customer", "product", "type", "query", "order_id", "quantity", "value",
            "unit_price", "attributes", "occurred_at", "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "external_id": {"required": False, "help_text": "Source event id; derived from the content if absent."}
        }

    def validate_occurred_at(self, value: datetime) -> datetime:
        return check_plausible(value)

    def validate_customer(self, value: Customer) -> Customer:
        """An erased customer's anonymised row takes no new events, and a bulk call's `create_missing` does
        not make their old id anew."""
        if value.erased_at is not None:
            raise serializers.ValidationError(f"{ERASED}: {value.external_id} is an anonymised record")
        if value.pk is None and self.erased_check().problems(external_id=value.external_id):
            raise serializers.ValidationError(f"{ERASED}: this external id belonged to a person whose data was erased")
        return value

    def validate_value(self, value: Decimal | None) -> Decimal | None:
        """A line value is money received: never negative (a refund is not a purchase), and at most
        EVENT_MAX_VALUE, so a typo of a few more digits cannot dominate every profile and prediction."""
        if value is None:
            return value
        if value < 0:
            raise serializers.ValidationError("must be 0 or more (refunds are not purchases)")
        if value > settings.EVENT_MAX_VALUE:
            raise serializers.ValidationError(f"must be at most {settings.EVENT_MAX_VALUE} (EVENT_MAX_VALUE)")
        return value

    def validate_quantity(self, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise serializers.ValidationError("must be a positive whole number (returns are not purchases)")
        return value

    def validate_attributes(self, value: Any) -> Any:
        return check_json_object(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        event_type = current("type")
        if event_type == EventType.SEARCH and not (current("query") or "").strip():
            raise serializers.ValidationError({"query": "a search event needs the query text"})
        if event_type in PRODUCT_EVENTS and current("product") is None:
            raise serializers.ValidationError({"product": f"a {event_type} event needs a product"})
        unit_price = attrs.pop("unit_price", None)
        if unit_price is not None and attrs.get("value") is None:
            try:  # the product must fit the value column too, or the database refuses the row
                attrs["value"] = self.validate_value(
                    self.fields["value"].run_validation(unit_price * (current("quantity") or 1))
                )
            except serializers.ValidationError as exc:
                raise serializers.ValidationError(
                    {"unit_price": [f"unit_price x quantity: {m}" for m in exc.detail]}
                ) from exc
        if not (attrs.get("external_id") or getattr(self.instance, "external_id", "")):
            attrs["external_id"] = derive_event_id(attrs)
            # Bulk upserts treat a known id as an update; a single create would hit the unique index.
            if not self.context.get("upsert") and Event.objects.filter(external_id=attrs["external_id"]).exists():
                raise serializers.ValidationError(
                    {"external_id": f"an identical event is already recorded ({attrs['external_id']})"}
                )
        return attrs


def derive_event_id(attrs: dict[str, Any]) -> str:
    """A stable id from an event's content, so importing the same export twice stores each event once."""
    content = {
        "customer": getattr(attrs.get("customer"), "external_id", None),
        "product": getattr(attrs.get("product"), "sku", None),
        "type": attrs.get("type"),
        "query": attrs.get("query") or "",
        "order_id": attrs.get("order_id") or "",
        "quantity": attrs.get("quantity"),
        "value": str(attrs["value"]) if attrs.get("value") is not None else None,
        "occurred_at": attrs["occurred_at"].isoformat() if attrs.get("occurred_at") else None,
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest[:48]}"


class SegmentRefSerializer(serializers.ModelSerializer[Segment]):
    class Meta:
        model = Segment
        fields = ["id", "key", "kind", "name"]


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    model_version = ModelVersionSerializer(read_only=True)

    class Meta:
        model = Segment
        fields = [
            "id", "key", "kind", "name", "description", "size", "top_categories", "top_keywords", "model_version",
            "is_active", "updated_at",
        ]


class PredictionSerializer(serializers.ModelSerializer[CustomerPrediction]):
    model_version = ModelVersionSerializer(read_only=True)

    class Meta:
        model = CustomerPrediction
        fields = ["target", "probability", "value", "predicted_at", "model_version", "computed_at", "drivers"]


class RfmSerializer(serializers.ModelSerializer[CustomerProfile]):
    class Meta:
        model = CustomerProfile
        fields = ["orders", "revenue", "first_order_at", "last_order_at", "last_seen_at", "recency_days", "rfm_score"]


class ProfileSerializer(serializers.ModelSerializer[CustomerProfile]):
    """What we know about a customer; the raw vectors stay inside (they mean nothing to a person)."""

    customer: serializers.SlugRelatedField[Customer] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True
    )
    rfm = serializers.SerializerMethodField()
    segments = serializers.SerializerMethodField()
    has_vector = serializers.SerializerMethodField()

    class Meta:
        model = CustomerProfile
        fields = ["customer", "lifecycle", "interests", "rfm", "segments", "has_vector", "updated_at"]

    def get_rfm(self, profile: CustomerProfile) -> dict[str, Any]:
        return dict(RfmSerializer(profile).data)

    @extend_schema_field(SegmentRefSerializer(many=True))
    def get_segments(self, profile: CustomerProfile) -> list[dict[str, Any]]:
        found = [s for s in (profile.lifecycle_segment, profile.behaviour_segment) if s is not None]
        return list(SegmentRefSerializer(found, many=True).data)

    def get_has_vector(self, profile: CustomerProfile) -> bool:
        return profile.vector is not None


class MemberSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ["id", "external_id"]
