"""What the campaign API reads and writes: campaigns, their copy variants, the parameters of the workflow
steps, and the shapes of the answers that have no model (audience, preview, errors)."""

from __future__ import annotations

from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from catalog.models import Product
from core.schema import VALIDATION_ERROR
from customers.models import Customer, Segment

from ..audience import AudienceError, validate_audience_filters
from ..models import Campaign, Variant


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
            "variants_per_group", "personalise_per_customer", "landing_url", "attribution_days", "send_timing",
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
    confirm_recipients = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0,
        help_text="Needed to move an approved campaign to running (a send): the number of recipients, as "
                  "`audience/` or a refused send names it.",
    )


class SendSerializer(serializers.Serializer[Any]):
    confirm_recipients = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0,
        help_text="The number of customers the send reaches now (a refused send names it): sending is deliberate.",
    )


class GenerateSerializer(serializers.Serializer[Any]):
    force = serializers.BooleanField(default=False, help_text="Regenerate every unapproved variant too.")


class RejectSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, help_text="Why the variant is rejected (required).")


class AudienceCustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "email", "locale"]


class WinnerSerializer(serializers.Serializer[Any]):
    arm = serializers.IntegerField(
        allow_null=True, required=False, default=None,
        help_text="Id of one of the experiment's arms; null withdraws an override (the winner rule decides again).",
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Why (required with an arm)."
    )


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
# A refused send: field errors like any 400, or `detail` with `recipients` (the number the body must confirm).
SEND_REFUSED_RESPONSE = OpenApiResponse(
    VALIDATION_ERROR,
    description=(
        "Refused: field errors, or `{\"detail\": ..., \"recipients\": N}` when the send was not confirmed "
        "with `confirm_recipients` equal to N (the customers it would reach now)."
    ),
)
TEST_SEND_RESPONSE = inline_serializer(
    "CampaignTestSend",
    {
        "to": serializers.EmailField(help_text="The first address the test went to."),
        "addresses": serializers.ListField(child=serializers.EmailField(), help_text="Every address it went to."),
        "variants": serializers.ListField(child=serializers.CharField()),
    },
)


class ProofAddressesSerializer(serializers.Serializer[Any]):
    """Where a test goes: the listed addresses, or (none given) the requesting user's own address."""

    to = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, default=list, max_length=50,
        help_text="Addresses to send the test to (at most 10); empty: your own address.",
    )

WINNER_RESPONSE = inline_serializer(
    "CampaignWinner",
    {
        "key": serializers.CharField(allow_null=True),
        "overridden_by": serializers.IntegerField(allow_null=True),
        "note": serializers.CharField(),
    },
)
