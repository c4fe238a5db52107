"""REST API for customers and events: serializers, filters and viewsets."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import ModelVersionSerializer
from catalog.models import Product
from core.pagination import TimeCursorPagination
from core.upsert import BatchLookupSlugField, UpsertKeyMixin, UpsertReport, UpsertSpec
from core.viewsets import BulkUpsertMixin, bulk_schema, check_json_object

from .models import Customer, CustomerPrediction, CustomerProfile, Event, EventType, Segment
from .tasks import request_profile_update


class CustomerSerializer(UpsertKeyMixin, serializers.ModelSerializer[Customer]):
    upsert_key = "external_id"

    class Meta:
        model = Customer
        fields = [
            "id", "external_id", "email", "name", "locale", "marketing_consent", "attributes",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("must not be blank")
        return value

    def validate_attributes(self, value: Any) -> Any:
        return check_json_object(value)


# Event types that are about one product, and so must name it.
PRODUCT_EVENTS = {EventType.VIEW, EventType.ADD_TO_CART, EventType.PURCHASE}


class EventSerializer(UpsertKeyMixin, serializers.ModelSerializer[Event]):
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
                attrs["value"] = self.fields["value"].run_validation(unit_price * (current("quantity") or 1))
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
        fields = ["target", "probability", "value", "predicted_at", "model_version", "computed_at"]


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


CUSTOMER_UPSERT = UpsertSpec(model=Customer, serializer_class=CustomerSerializer, key="external_id")
EVENT_UPSERT = UpsertSpec(
    model=Event,
    serializer_class=EventSerializer,
    key="external_id",
    references={"customer": (Customer, "external_id"), "product": (Product, "sku")},
    create_missing={"customer": lambda external_id: Customer(external_id=external_id)},
)


# --- Views ------------------------------------------------------------------------------------------

class CustomerFilter(filters.FilterSet):
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    email = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Customer
        fields = ["email", "locale", "marketing_consent"]


@extend_schema_view(
    list=extend_schema(summary="List customers"),
    retrieve=extend_schema(summary="Get a customer"),
    create=extend_schema(summary="Create a customer"),
    update=extend_schema(summary="Replace a customer"),
    partial_update=extend_schema(summary="Update a customer"),
    destroy=extend_schema(summary="Delete a customer", description="Their events are deleted with them."),
    bulk=bulk_schema(CustomerSerializer),
)
class CustomerViewSet(BulkUpsertMixin, viewsets.ModelViewSet[Customer]):
    """The shop's customers, keyed by the shop's customer id."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["external_id", "email", "name"]
    ordering_fields = ["external_id", "created_at", "updated_at"]
    upsert_spec = CUSTOMER_UPSERT

    @extend_schema(
        summary="Customer profile",
        description="Interests (top categories, brands, keywords with weights), RFM figures and score, lifecycle "
        "stage, segments and the latest predictions with their model versions. 404 until profiles are built "
        "(job rebuild_profiles or update_profiles). Needs view permission on customer profiles too.",
        responses={200: ProfileSerializer},
    )
    @action(detail=True, methods=["get"])
    def profile(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        if not request.user.has_perm("customers.view_customerprofile"):
            raise PermissionDenied("reading profiles needs the permission customers.view_customerprofile")
        profile = (
            CustomerProfile.objects.filter(customer=customer)
            .select_related("customer", "lifecycle_segment", "behaviour_segment")
            .first()
        )
        if profile is None:
            raise NotFound("no profile yet: run the rebuild_profiles job (or wait for update_profiles)")
        data = dict(ProfileSerializer(profile).data)
        if request.user.has_perm("customers.view_customerprediction"):
            predictions = CustomerPrediction.objects.filter(customer=customer).select_related("model_version")
            data["predictions"] = PredictionSerializer(predictions, many=True).data
        return Response(data)


class EventFilter(filters.FilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="Customer external id.")
    product = filters.CharFilter(field_name="product__sku", help_text="Product SKU.")
    type = filters.MultipleChoiceFilter(choices=EventType.choices)
    occurred_after = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["customer", "product", "type", "order_id"]


@extend_schema_view(
    list=extend_schema(summary="List events", description="Newest first, cursor-paginated."),
    retrieve=extend_schema(summary="Get an event"),
    create=extend_schema(summary="Record an event"),
    update=extend_schema(summary="Replace an event"),
    partial_update=extend_schema(summary="Update an event"),
    destroy=extend_schema(summary="Delete an event"),
    bulk=bulk_schema(EventSerializer, create_missing=True),
)
class EventViewSet(BulkUpsertMixin, viewsets.ModelViewSet[Event]):
    """Behaviour events: views, searches, add-to-carts, purchases, email opens and clicks, unsubscribes."""

    queryset = Event.objects.select_related("customer", "product")
    serializer_class = EventSerializer
    filterset_class = EventFilter
    search_fields = ["query", "order_id"]
    ordering_fields = ["occurred_at"]
    pagination_class = TimeCursorPagination
    upsert_spec = EVENT_UPSERT
    allow_create_missing = True

    # New events are folded into their customers' profiles by a background job (when a worker runs).
    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer)
        request_profile_update(self.request.user)

    def after_bulk_upsert(self, request: Request, report: UpsertReport) -> None:
        if report.created:
            request_profile_update(request.user)


class SegmentFilter(filters.FilterSet):
    class Meta:
        model = Segment
        fields = ["kind", "is_active"]


class MemberSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ["id", "external_id"]


@extend_schema_view(
    list=extend_schema(summary="List segments", description="Lifecycle and behavioural segments, with sizes."),
    retrieve=extend_schema(summary="Get a segment"),
)
class SegmentViewSet(viewsets.ReadOnlyModelViewSet[Segment]):
    """Segments (campaign audiences): lifecycle rules over RFM, and clusters of profile vectors labelled by
    their members' distinctive categories and keywords. Rebuilt by the rebuild_profiles job."""

    queryset = Segment.objects.select_related("model_version")
    serializer_class = SegmentSerializer
    filterset_class = SegmentFilter
    search_fields = ["key", "name", "description"]
    ordering_fields = ["key", "size", "updated_at"]

    @extend_schema(
        summary="Segment members",
        description="The customers in the segment (id and external id), paginated. Needs view permission on "
        "customers too.",
        responses={200: MemberSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        if not request.user.has_perm("customers.view_customer"):
            raise PermissionDenied("listing members needs the permission customers.view_customer")
        if segment.kind == Segment.Kind.LIFECYCLE:
            members = Customer.objects.filter(profile__lifecycle_segment=segment)
        else:
            members = Customer.objects.filter(profile__behaviour_segment=segment)
        # the view's paginator pages any queryset; its stubs tie it to the view's model
        page = self.paginate_queryset(members.order_by("pk").only("pk", "external_id"))  # type: ignore[arg-type]
        return self.get_paginated_response(MemberSerializer(page, many=True).data)
