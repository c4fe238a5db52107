"""REST API for customers, events and segments: filters and viewsets (serializers in serializers.py, how
rows are written in upserts.py)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from core.filters import MomentFilter
from core.pagination import TimeCursorPagination
from core.viewsets import UpsertModelViewSet, upsert_schema

from .models import Customer, CustomerPrediction, CustomerProfile, Event, EventType, Segment
from .serializers import (
    CustomerSerializer,
    EventSerializer,
    MemberSerializer,
    PredictionSerializer,
    ProfileSerializer,
    SegmentSerializer,
)
from .upserts import CUSTOMER_UPSERT, EVENT_UPSERT


class CustomerFilter(filters.FilterSet):
    external_id = filters.CharFilter(
        help_text="The shop's customer id, exactly (or use `customers/by-external-id/{external_id}/`)."
    )
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")
    email = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Customer
        fields = ["external_id", "email", "locale", "marketing_consent"]


@upsert_schema(
    CUSTOMER_UPSERT, one="a customer", many="customers", destroy_description="Their events are deleted with them."
)
class CustomerViewSet(UpsertModelViewSet[Customer]):
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
        "stage, segments and the latest predictions with their model versions and drivers (what moved each most). "
        "404 until profiles are built "
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
    occurred_after = MomentFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = MomentFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["customer", "product", "type", "order_id"]


@upsert_schema(
    EVENT_UPSERT,
    one="an event",
    many="events",
    create="Record an event",
    list_description="Newest first, cursor-paginated.",
)
class EventViewSet(UpsertModelViewSet[Event]):
    """Behaviour events: views, searches, add-to-carts, purchases, email opens and clicks, unsubscribes."""

    queryset = Event.objects.select_related("customer", "product")
    serializer_class = EventSerializer
    filterset_class = EventFilter
    search_fields = ["query", "order_id"]
    ordering_fields = ["occurred_at"]
    pagination_class = TimeCursorPagination
    upsert_spec = EVENT_UPSERT  # new events queue a profile update; bulk may create missing customers


class SegmentFilter(filters.FilterSet):
    class Meta:
        model = Segment
        fields = ["kind", "is_active"]


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
