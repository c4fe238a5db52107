"""REST API for campaigns: the brief (CRUD), its workflow steps, audience, preview, results, and the review
of its copy variants.

/campaigns/                      list, create; {id}/ get, replace, update, delete. `status` is read-only: it
                                 changes only through the steps below.
/campaigns/{id}/transition/      POST {to, note}: a workflow button (`campaigns.actions.do_move`): to generating
                                 also queues the generation job, approved to running creates the experiment
                                 and queues the send, as in the admin
/campaigns/{id}/generate/        POST {force}: the generate step (`do_generate`): generating + `generate_campaign`
/campaigns/{id}/send/            POST {confirm_recipients}: the start-sending step (`do_start_sending`):
                                 approved -> running + `send_campaign`; a running campaign gets another send
                                 (newcomers). Without the current number of recipients: 400 naming it
/campaigns/{id}/test-send/       POST: the variants emailed to the requesting manager, marked [TEST]
/campaigns/{id}/winner/          POST {arm, note}: a manager's choice of winner (`do_override_winner`)
/campaigns/{id}/audience/        GET ?sample=n: size and the first customers
/campaigns/{id}/preview/         GET ?customer=<id>&variant=<id>: the message as that customer would get it
/campaigns/{id}/results/         GET ?metric=: the experiment's analysis (`campaigns.analysis.analyse`)
/campaigns/{id}/discounts/       GET: discount depth per segment (`campaigns.discounts.discount_suggestions`)
/campaigns/{campaign_pk}/variants/            list; {id}/ get, PATCH edits subject/preheader/body;
                                              {id}/approve/, {id}/reject/ {reason}

Permissions are model permissions (reads `view_*`, writes add/change/delete: analysts read, campaign managers
do everything). A workflow step needs only read access to be asked: the step's own check
(`campaigns.actions`) authorises, so a refusal (403 for the user, 400 for the campaign's state) carries the
same message the admin shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any, ParamSpec, TypeVar

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.permissions import ModelPermissions
from core.schema import BAD_REQUEST
from customers.models import Customer
from jobs.api import JobSerializer
from jobs.models import Job
from jobs.runner import UnknownJobKind

from .. import actions
from ..analysis import analyse
from ..audience import AudienceError, audience_queryset
from ..discounts import DiscountError, discount_suggestions
from ..models import Campaign, Experiment, Variant
from ..personalisation import preview
from ..uplift import uplift_summary
from .discounts import DiscountSuggestionsSerializer
from .serializers import (
    AUDIENCE_RESPONSE,
    ERROR_RESPONSE,
    PREVIEW_RESPONSE,
    SEND_REFUSED_RESPONSE,
    TEST_SEND_RESPONSE,
    WINNER_RESPONSE,
    AudienceCustomerSerializer,
    CampaignDetailSerializer,
    CampaignFilter,
    CampaignSerializer,
    GenerateSerializer,
    ProofAddressesSerializer,
    RejectSerializer,
    SendSerializer,
    TransitionSerializer,
    VariantSerializer,
    WinnerSerializer,
)

MAX_SAMPLE = 100
P = ParamSpec("P")
T = TypeVar("T")
READ = "%(app_label)s.view_%(model_name)s"


class StepPermissions(ModelPermissions):
    """A workflow step: whoever may read the campaign may ask; the step's check decides and says why not."""

    perms_map = {**ModelPermissions.perms_map, "POST": [READ], "PATCH": [READ]}


class JobsUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the job cannot be queued"


class SendNotConfirmed(APIException):
    """400 with the number to confirm, as a number (a ValidationError would turn it into a string)."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, recipients: int) -> None:
        super().__init__(message)
        self.detail: Any = {"detail": message, "recipients": recipients}


def _step(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a step (or a domain read), turning its refusals into API errors: 403 for the user, 400 for the
    campaign's state, 503 when the job it needs is not registered."""
    try:
        return func(*args, **kwargs)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except actions.RecipientsNotConfirmed as exc:
        raise SendNotConfirmed(str(exc), exc.recipients) from exc
    except actions.REFUSALS as exc:
        raise ValidationError({"detail": str(exc)}) from exc
    except AudienceError as exc:
        raise ValidationError({"detail": str(exc)}) from exc
    except UnknownJobKind as exc:
        raise JobsUnavailable(str(exc)) from exc


def _queued(job: Job) -> Response:
    return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


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

    def perform_update(self, serializer: CampaignSerializer) -> None:  # type: ignore[override]
        assert isinstance(serializer.instance, Campaign)
        before = {field: getattr(serializer.instance, field) for field in actions.AUDITED_SETTINGS}
        with transaction.atomic():
            campaign = serializer.save()
            actions.audit_settings(campaign, before, self.request.user, self.request)

    @extend_schema(
        summary="Move a campaign to another status",
        description=(
            "draft -> generating -> in_review -> approved -> running -> finished; in_review -> draft to "
            "regenerate, approved -> in_review to reopen review; finishing before running is a cancel and "
            "needs a note. Approval needs an approved variant and a complete brief. As the admin's buttons: "
            "generating also queues the generation job (from in_review it regenerates every unapproved "
            "variant), approved -> running creates the experiment and queues the send. 400 names the reason."
        ),
        request=TransitionSerializer,
        responses={200: CampaignSerializer, 400: SEND_REFUSED_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"], permission_classes=[StepPermissions])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        params = TransitionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        _step(actions.do_move, campaign, data["to"], request.user, data["note"],
              confirm_recipients=data["confirm_recipients"])
        return Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data)

    @extend_schema(
        summary="Generate copy variants",
        description=(
            "Moves the campaign to generating (from in_review through draft) and queues a `generate_campaign` "
            "job (inference queue): variants per segment x product under guardrails; the job moves the campaign "
            "to in_review. Draft or in-review campaigns; `force` rewrites every unapproved variant."
        ),
        request=GenerateSerializer,
        responses={202: JobSerializer, 400: BAD_REQUEST, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"], permission_classes=[StepPermissions])
    def generate(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        params = GenerateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return _queued(_step(actions.do_generate, campaign, request.user, force=params.validated_data["force"]))

    @extend_schema(
        summary="Send a campaign",
        description=(
            "Starts sending: an approved campaign gets its experiment (arms: the approved variants and a holdout) "
            "and moves to running; a `send_campaign` job assigns the audience to the arms and sends one message "
            "per customer (never twice). A running campaign gets another send (customers not reached yet). "
            "Sending is deliberate: `confirm_recipients` must be the number of customers the send reaches now "
            "(the audience not yet assigned); without it or with another number the answer is 400 with "
            "`recipients`, the number to confirm."
        ),
        request=SendSerializer,
        responses={202: JobSerializer, 400: SEND_REFUSED_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"], permission_classes=[StepPermissions])
    def send(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        params = SendSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        confirm = params.validated_data["confirm_recipients"]
        return _queued(_step(actions.do_start_sending, campaign, request.user, confirm_recipients=confirm))

    @extend_schema(
        summary="Send a test",
        description=(
            "Emails every variant (approved first, at most 10) to the requesting user's own address, or to the "
            "addresses in `to` (at most 10), rendered for a sample customer exactly as the real send renders it "
            "(the brand's template) and marked as a test (subject starting \"[TEST]\", header X-Test-Send). No "
            "message is recorded and nothing counts in the experiment. A send starts only after a test of the "
            "current approved copy. 400 when the user has no email address and none is given, or an address is "
            "not one."
        ),
        request=ProofAddressesSerializer,
        responses={200: TEST_SEND_RESPONSE, 400: BAD_REQUEST, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"], url_path="test-send", permission_classes=[StepPermissions])
    def test_send(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        params = ProofAddressesSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        sent = _step(actions.do_test_send, campaign, request.user, params.validated_data["to"] or None)
        return Response({"to": sent.addresses[0], "addresses": sent.addresses, "variants": sent.variants})

    @extend_schema(
        summary="Choose the winner",
        description=(
            "A campaign manager's choice of winning arm, with a note saying why; the winner rule never "
            "overwrites it. `arm: null` withdraws the override and the rule decides again."
        ),
        request=WinnerSerializer,
        responses={200: WINNER_RESPONSE, 400: BAD_REQUEST, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"], permission_classes=[StepPermissions])
    def winner(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        experiment = Experiment.objects.filter(campaign=campaign).first()
        if experiment is None:
            raise NotFound(f"campaign {campaign.pk} has no experiment yet")
        params = WinnerSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        arm = _step(actions.do_override_winner, experiment, params.validated_data["arm"], request.user,
                    params.validated_data["note"])
        return Response({
            "key": arm.key if arm is not None else None,
            "overridden_by": experiment.winner_overridden_by_id,
            "note": experiment.winner_note,
        })

    @extend_schema(
        summary="Audience of a campaign",
        description="How many consenting customers the segments and filters reach now, and the first of them.",
        parameters=[
            OpenApiParameter("sample", int, description=f"How many customers to list (0-{MAX_SAMPLE}, default 10).")
        ],
        responses={200: AUDIENCE_RESPONSE, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["get"])
    def audience(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        n = _int_param(request, "sample")
        n = 10 if n is None else n
        if not 0 <= n <= MAX_SAMPLE:
            raise ValidationError({"sample": f"must be between 0 and {MAX_SAMPLE}"})
        queryset = _step(audience_queryset, campaign)
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
        responses={200: PREVIEW_RESPONSE, 400: BAD_REQUEST, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
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
            customer = _step(audience_queryset, campaign).first()
            if customer is None:
                raise ValidationError({"customer": "the audience is empty: name a customer"})
        variant.campaign = campaign
        return Response(preview(variant, customer))

    @extend_schema(
        summary="Experiment results",
        description=(
            "Per metric: rate per arm with Wilson intervals, lifts against control, p-values, Bayesian "
            "probabilities, sample-ratio check, sample size still needed, and the winner; `uplift`: the latest "
            "uplift model of the experiment (version, arms, held-out Qini / AUUC, top 10/20/30%, Qini curve) or null."
        ),
        parameters=[OpenApiParameter("metric", str, description="open, click or conversion (default: all).")],
        responses={200: inline_serializer("CampaignResults", {"analysis": serializers.DictField()}),
                   400: BAD_REQUEST, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        experiment = Experiment.objects.filter(campaign=campaign).first()
        if experiment is None:
            raise NotFound(f"campaign {campaign.pk} has no experiment yet")
        metric = request.query_params.get("metric") or None
        try:
            analysis = analyse(experiment, metric=metric)
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response({**_jsonable(analysis), "uplift": uplift_summary(experiment)})

    @extend_schema(
        summary="Discount depth per segment",
        description=(
            "From an experiment whose arms offer different discounts (`discount_percent`) against a holdout or a "
            "0% arm: per segment (all customers, lifecycle stage at assignment, behavioural segments fixed before "
            "the start), each depth's customers, conversion, revenue and incremental margin per customer with "
            "intervals, and the suggested depth or the sample per arm still needed. 400 says why the arms cannot "
            "answer (one arm, no discounts set, no reference)."
        ),
        responses={200: DiscountSuggestionsSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def discounts(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        experiment = Experiment.objects.filter(campaign=campaign).first()
        if experiment is None:
            raise NotFound(f"campaign {campaign.pk} has no experiment yet")
        try:
            return Response(discount_suggestions(experiment))
        except DiscountError as exc:
            raise ValidationError({"detail": str(exc)}) from exc


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
    permission_classes = [StepPermissions]  # reads need view_variant; every write is a step (edit, approve, reject)
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
        _step(
            actions.do_edit_variant, variant, request.user,
            subject=data.get("subject"), preheader=data.get("preheader"), body=data.get("body"),
        )
        return Response(VariantSerializer(variant).data)

    @extend_schema(
        summary="Approve a variant",
        description="Only approved variants become experiment arms. Flagged variants must be edited first.",
        request=None,
        responses={200: VariantSerializer, 400: BAD_REQUEST, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, campaign_pk: str | None = None, pk: str | None = None) -> Response:
        variant = self.get_object()
        _step(actions.do_approve_variant, variant, request.user)
        return Response(VariantSerializer(variant).data)

    @extend_schema(
        summary="Reject a variant",
        description="The reason is required and kept with the variant.",
        request=RejectSerializer,
        responses={200: VariantSerializer, 400: BAD_REQUEST, 403: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, campaign_pk: str | None = None, pk: str | None = None) -> Response:
        variant = self.get_object()
        params = RejectSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        _step(actions.do_reject_variant, variant, request.user, params.validated_data["reason"])
        return Response(VariantSerializer(variant).data)
