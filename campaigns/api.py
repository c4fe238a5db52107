"""REST API for campaigns: the brief (CRUD), its workflow actions, audience, preview, results, and the review
of its copy variants.

/campaigns/                      list, create; {id}/ get, replace, update, delete. `status` is read-only: it
                                 changes only through `transition/` (or the generate and send jobs).
/campaigns/{id}/transition/      POST {to, note}: the status machine of `campaigns.workflow`
/campaigns/{id}/generate/        POST {force}: starts the `generate_campaign` job
/campaigns/{id}/send/            POST: starts the `send_campaign` job (approved or running campaigns only)
/campaigns/{id}/audience/        GET ?sample=n: size and the first customers
/campaigns/{id}/preview/         GET ?customer=<id>&variant=<id>: the message as that customer would get it
/campaigns/{id}/results/         GET ?metric=: the experiment's analysis (`campaigns.experiments.analyse`)
/campaigns/{campaign_pk}/variants/            list; {id}/ get, PATCH edits subject/preheader/body;
                                              {id}/approve/, {id}/reject/ {reason}

Permissions are model permissions (reads `view_*`, writes add/change/delete: analysts read, campaign managers
do everything); the domain functions check again. Invalid moves answer 400 with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Product
from customers.models import Customer, Segment
from jobs.api import JobSerializer
from jobs.runner import UnknownJobKind, start_job

from . import workflow
from .audience import AudienceError, audience_queryset, validate_audience_filters
from .models import Campaign, Experiment, Variant

MAX_SAMPLE = 100


class AnnotatedIdsField(serializers.ManyRelatedField):
    """Ids of a many-to-many, read from an array annotation when the queryset has it (no query per row),
    written as a list of ids like any PrimaryKeyRelatedField(many=True)."""

    def __init__(self, annotation: str, **kwargs: Any) -> None:
        self.annotation = annotation
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        ids = getattr(instance, self.annotation, None)
        if ids is not None:
            return sorted(ids)
        return super().get_attribute(instance)

    def to_representation(self, iterable: Any) -> list[Any]:
        return [value if isinstance(value, int) else value.pk for value in iterable]


class VariantSerializer(serializers.ModelSerializer[Variant]):
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    # a plain string in the schema: a second "status" enum would collide with the campaign's and the job's
    status = serializers.CharField(read_only=True, help_text="in_review, flagged, approved or rejected.")
    edited_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = Variant
        fields = [
            "id", "campaign", "segment", "product", "customer", "label", "subject", "preheader", "body", "language",
            "status", "guardrails", "attempts", "relevance", "model_name", "model_version", "generated_body",
            "edited_by", "reviewed_by", "reviewed_at", "rejection_reason", "created_at",
        ]
        read_only_fields = [f for f in fields if f not in ("subject", "preheader", "body")]


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    status_changed_by = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="username", read_only=True
    )
    segments = AnnotatedIdsField(
        annotation="segment_ids", child_relation=serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all()),
        required=False, help_text="Segment ids; none means every consenting customer.",
    )
    products = AnnotatedIdsField(
        annotation="product_ids", child_relation=serializers.PrimaryKeyRelatedField(queryset=Product.objects.all()),
        required=False, help_text="Product ids the copy is about.",
    )

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "goal", "brief", "channel", "status", "brand_voice", "tone", "language", "offer",
            "banned_words", "required_text", "segments", "audience_filters", "products", "recommend_products",
            "variants_per_group", "personalise_per_customer", "landing_url", "attribution_days",
            "status_changed_by", "status_changed_at", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "status", "status_changed_by", "status_changed_at", "created_by", "created_at",
                            "updated_at"]

    def validate_audience_filters(self, value: Any) -> dict[str, Any]:
        try:
            validate_audience_filters(value)
        except AudienceError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value if isinstance(value, dict) else {}

    def validate_banned_words(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise serializers.ValidationError("must be a list of non-empty words or phrases")
        return [w.strip() for w in value]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        wanted = self.initial_data.get("status") if isinstance(self.initial_data, dict) else None
        current = instance.status if isinstance(instance, Campaign) else Campaign.Status.DRAFT
        if wanted is not None and wanted != current:
            raise serializers.ValidationError(
                {"status": "the status changes only through POST /campaigns/{id}/transition/ (approval rules apply)"}
            )
        if isinstance(instance, Campaign) and instance.status in (Campaign.Status.RUNNING, Campaign.Status.FINISHED):
            raise serializers.ValidationError(
                {"status": f"a {instance.status} campaign cannot be edited: its messages are (being) sent"}
            )
        return attrs


class CampaignDetailSerializer(CampaignSerializer):
    # the enum is documented once, on CampaignSerializer: a second component with it makes the name collide
    status = serializers.CharField(read_only=True, help_text="See Campaign.status.")
    variants = VariantSerializer(many=True, read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "variants"]


class CampaignFilter(filters.FilterSet):
    class Meta:
        model = Campaign
        fields = ["status", "channel", "goal"]


class TransitionSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(help_text=f"The new status: one of {', '.join(Campaign.Status.values)}.")

    def validate_to(self, value: str) -> str:
        if value not in Campaign.Status.values:
            statuses = ", ".join(Campaign.Status.values)
            raise serializers.ValidationError(f"unknown status {value!r}; statuses are {statuses}")
        return value
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class GenerateSerializer(serializers.Serializer[Any]):
    force = serializers.BooleanField(default=False, help_text="Regenerate every unapproved variant too.")


class RejectSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, help_text="Why the variant is rejected (required).")


class AudienceCustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "email", "locale"]


AUDIENCE_RESPONSE = inline_serializer(
    "CampaignAudience",
    {"size": serializers.IntegerField(), "sample": AudienceCustomerSerializer(many=True)},
)
PREVIEW_RESPONSE = inline_serializer(
    "CampaignPreview",
    {
        "variant": serializers.IntegerField(),
        "customer": serializers.IntegerField(),
        "subject": serializers.CharField(),
        "preheader": serializers.CharField(),
        "body": serializers.CharField(),
        "html": serializers.CharField(),
        "products": serializers.ListField(child=serializers.DictField()),
    },
)
ERROR_RESPONSE = inline_serializer("CampaignError", {"detail": serializers.CharField()})


def _int_param(request: Request, name: str, required: bool = False) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationError({name: "this query parameter is required"})
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: f"must be a whole number, got {raw!r}"}) from None


def _domain_call(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a workflow function, turning its refusals into API errors (400 for the state, 403 for the user)."""
    try:
        return func(*args, **kwargs)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except (workflow.TransitionError, workflow.ReviewError, AudienceError) as exc:
        raise ValidationError({"detail": str(exc)}) from exc


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


@extend_schema_view(
    list=extend_schema(summary="List campaigns"),
    retrieve=extend_schema(summary="Get a campaign", description="With its copy variants."),
    create=extend_schema(summary="Create a campaign", description="The creator is the authenticated user."),
    update=extend_schema(summary="Replace a campaign", description="Not while running or finished."),
    partial_update=extend_schema(summary="Update a campaign", description="Not while running or finished."),
    destroy=extend_schema(summary="Delete a campaign"),
)
class CampaignViewSet(viewsets.ModelViewSet[Campaign]):
    """Marketing campaigns: goal, channel, brief, audience, products, voice, offer, rules and status."""

    queryset = Campaign.objects.select_related("created_by", "status_changed_by")
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    search_fields = ["name", "brief"]
    ordering_fields = ["created_at", "name", "status"]

    def get_queryset(self) -> QuerySet[Campaign]:
        queryset = super().get_queryset().annotate(
            segment_ids=ArraySubquery(
                Campaign.segments.through.objects.filter(campaign_id=OuterRef("pk")).values("segment_id")
            ),
            product_ids=ArraySubquery(
                Campaign.products.through.objects.filter(campaign_id=OuterRef("pk")).values("product_id")
            ),
        )
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("variants")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Campaign]]:
        return CampaignDetailSerializer if self.action == "retrieve" else CampaignSerializer

    def perform_create(self, serializer: CampaignSerializer) -> None:  # type: ignore[override]
        serializer.save(created_by=self.request.user)

    @extend_schema(
        summary="Move a campaign to another status",
        description=(
            "draft -> generating -> in_review -> approved -> running -> finished; in_review -> draft to "
            "regenerate, approved -> in_review to reopen review; finishing before running is a cancel and "
            "needs a note. Approval needs an approved variant and a complete brief; running needs an "
            "experiment with arms. 400 names the reason."
        ),
        request=TransitionSerializer,
        responses={200: CampaignSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        params = TransitionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        _domain_call(workflow.do_transition, campaign, params.validated_data["to"], request.user,
                     note=params.validated_data["note"])
        return Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data)

    def _start(self, request: Request, kind: str, params: dict[str, Any]) -> Response:
        try:
            job = start_job(kind, params, user=request.user)
        except UnknownJobKind as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Generate copy variants",
        description=(
            "Starts a `generate_campaign` job (inference queue): variants per segment x product under "
            "guardrails; the campaign moves to generating and then in_review. Draft or in-review campaigns."
        ),
        request=GenerateSerializer,
        responses={202: JobSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def generate(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        params = GenerateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        _domain_call(workflow.check_permission, request.user)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.IN_REVIEW, Campaign.Status.GENERATING):
            raise ValidationError({"detail": f"copy is generated for draft or in-review campaigns; this one is "
                                             f"{campaign.status}"})
        force = params.validated_data["force"]
        return self._start(request, "generate_campaign", {"campaign_id": campaign.pk, "force": force})

    @extend_schema(
        summary="Send a campaign",
        description=(
            "Starts a `send_campaign` job: assigns the audience to the experiment's arms and sends one message "
            "per customer (never twice). Only approved or running campaigns; an approved one moves to running."
        ),
        request=None,
        responses={202: JobSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str | None = None) -> Response:
        from .delivery import DeliveryError, check_can_send

        campaign = self.get_object()
        _domain_call(workflow.check_permission, request.user)
        try:
            check_can_send(campaign)
        except DeliveryError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return self._start(request, "send_campaign", {"campaign_id": campaign.pk})

    @extend_schema(
        summary="Audience of a campaign",
        description="How many consenting customers the segments and filters reach now, and the first of them.",
        parameters=[
            OpenApiParameter("sample", int, description=f"How many customers to list (0-{MAX_SAMPLE}, default 10).")
        ],
        responses={200: AUDIENCE_RESPONSE, 400: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def audience(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        n = _int_param(request, "sample")
        n = 10 if n is None else n
        if not 0 <= n <= MAX_SAMPLE:
            raise ValidationError({"sample": f"must be between 0 and {MAX_SAMPLE}"})
        queryset = _domain_call(audience_queryset, campaign)
        return Response({
            "size": queryset.count(),
            "sample": AudienceCustomerSerializer(list(queryset[:n]), many=True).data,
        })

    @extend_schema(
        summary="Preview a message",
        description=(
            "A variant rendered for one customer (name, recommended products, tracked links, required text). "
            "Default variant: the first approved one, else the first; default customer: the first of the audience."
        ),
        parameters=[
            OpenApiParameter("customer", int, description="Customer id."),
            OpenApiParameter("variant", int, description="Variant id (of this campaign)."),
        ],
        responses={200: PREVIEW_RESPONSE, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        from .personalisation import preview

        campaign = self.get_object()
        customer_id, variant_id = _int_param(request, "customer"), _int_param(request, "variant")
        variants = campaign.variants.all()
        if variant_id is not None:
            variant = variants.filter(pk=variant_id).first()
            if variant is None:
                raise NotFound(f"campaign {campaign.pk} has no variant {variant_id}")
        else:
            variant = variants.filter(status=Variant.Status.APPROVED).first() or variants.first()
            if variant is None:
                raise ValidationError({"variant": "the campaign has no variants yet"})
        if customer_id is not None:
            customer = Customer.objects.filter(pk=customer_id).first()
            if customer is None:
                raise NotFound(f"no customer with id {customer_id}")
        else:
            customer = _domain_call(audience_queryset, campaign).first()
            if customer is None:
                raise ValidationError({"customer": "the audience is empty: name a customer"})
        variant.campaign = campaign
        return Response(preview(variant, customer))

    @extend_schema(
        summary="Experiment results",
        description=(
            "Per metric: rate per arm with Wilson intervals, lifts against control, p-values, Bayesian "
            "probabilities, sample-ratio check, sample size still needed, and the winner."
        ),
        parameters=[OpenApiParameter("metric", str, description="open, click or conversion (default: all).")],
        responses={200: inline_serializer("CampaignResults", {"analysis": serializers.DictField()}),
                   400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> Response:
        from .experiments import analyse

        campaign = self.get_object()
        experiment = Experiment.objects.filter(campaign=campaign).first()
        if experiment is None:
            raise NotFound(f"campaign {campaign.pk} has no experiment yet")
        metric = request.query_params.get("metric") or None
        try:
            analysis = analyse(experiment, metric=metric)
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(_jsonable(analysis))


@extend_schema_view(
    list=extend_schema(summary="List a campaign's variants", description="Side by side, with guardrail results."),
    retrieve=extend_schema(summary="Get a variant", description="With its prompt trace and guardrail results."),
    partial_update=extend_schema(
        summary="Edit a variant",
        description=(
            "Change subject, preheader or body. The model's text stays in `generated_body`; the guardrails run "
            "again and the variant needs a new approval. Only while the campaign is draft or in review."
        ),
    ),
)
class VariantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Variant]):
    """Copy variants of one campaign, for review: approve, reject with a reason, edit."""

    queryset = Variant.objects.select_related("reviewed_by", "edited_by", "campaign")
    serializer_class = VariantSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[Variant]:
        campaign_pk = self.kwargs.get("campaign_pk")
        try:
            campaign_id = int(str(campaign_pk))
        except ValueError:
            raise NotFound(f"no campaign with id {campaign_pk}") from None
        if getattr(self, "swagger_fake_view", False):
            return Variant.objects.none()
        get_object_or_404(Campaign, pk=campaign_id)
        return super().get_queryset().filter(campaign_id=campaign_id)

    def partial_update(self, request: Request, campaign_pk: str | None = None, pk: str | None = None) -> Response:
        variant = self.get_object()
        serializer = self.get_serializer(variant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _domain_call(
            workflow.do_edit_variant, variant, request.user,
            subject=data.get("subject"), preheader=data.get("preheader"), body=data.get("body"),
        )
        return Response(VariantSerializer(variant).data)

    @extend_schema(
        summary="Approve a variant",
        description="Only approved variants become experiment arms. Flagged variants must be edited first.",
        request=None,
        responses={200: VariantSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, campaign_pk: str | None = None, pk: str | None = None) -> Response:
        variant = self.get_object()
        _domain_call(workflow.do_approve_variant, variant, request.user)
        return Response(VariantSerializer(variant).data)

    @extend_schema(
        summary="Reject a variant",
        description="The reason is required and kept with the variant.",
        request=RejectSerializer,
        responses={200: VariantSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, campaign_pk: str | None = None, pk: str | None = None) -> Response:
        variant = self.get_object()
        params = RejectSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        _domain_call(workflow.do_reject_variant, variant, request.user, params.validated_data["reason"])
        return Response(VariantSerializer(variant).data)
