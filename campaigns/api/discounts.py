"""The shape of `GET /campaigns/{id}/discounts/` (`campaigns.discounts.discount_suggestions`), for the
OpenAPI schema: what each number is, and which may be null (a number the data cannot define)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class DiscountDepthSerializer(serializers.Serializer[Any]):
    depth = serializers.CharField(help_text='"holdout (no message)" or the discount, e.g. "20%".')
    discount_percent = serializers.FloatField()
    arms = serializers.ListField(child=serializers.CharField(), help_text="Arm keys pooled into this depth.")
    is_holdout = serializers.BooleanField()


class DiscountRowSerializer(serializers.Serializer[Any]):
    depth = serializers.CharField()
    discount_percent = serializers.FloatField()
    arms = serializers.ListField(child=serializers.CharField())
    is_reference = serializers.BooleanField(help_text="The holdout (or the 0% arm) the margins are measured against.")
    n = serializers.IntegerField(help_text="Customers assigned to this depth in this segment.")
    converted = serializers.IntegerField(help_text="Of them, customers with a purchase in the attribution window.")
    conversion_rate = serializers.FloatField(allow_null=True)
    conversion_ci = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="Wilson interval.")
    revenue_per_customer = serializers.FloatField(allow_null=True, help_text="List revenue in the window.")
    revenue_ci = serializers.ListField(child=serializers.FloatField(allow_null=True))
    margin_per_customer = serializers.FloatField(
        allow_null=True, help_text="Revenue x (1 - discount) - cost of goods, per customer."
    )
    incremental_margin = serializers.FloatField(allow_null=True, help_text="Margin per customer minus the reference's.")
    incremental_margin_ci = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="Welch normal interval; nulls for the reference."
    )


class DiscountSuggestionSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(["suggested", "not_enough_evidence", "no_data"])
    depth = serializers.CharField(allow_null=True, help_text="The suggested depth (may be the reference).")
    discount_percent = serializers.FloatField(allow_null=True, help_text="Null unless a discount is suggested.")
    compared_with = serializers.ListField(child=serializers.CharField())
    sample_needed_per_arm = serializers.IntegerField(
        allow_null=True,
        help_text="Customers per arm needed to tell the best depth from the others (when not enough evidence).",
    )
    text = serializers.CharField(help_text="The suggestion or the missing evidence, in words.")


class DiscountSegmentSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text='"all", a lifecycle segment key, or a behavioural segment key.')
    name = serializers.CharField()
    kind = serializers.CharField(help_text="all, lifecycle or behavioural.")
    membership = serializers.CharField(help_text="How membership was decided (at assignment, before the offer).")
    n = serializers.IntegerField()
    rows = DiscountRowSerializer(many=True)
    suggestion = DiscountSuggestionSerializer()


class GrossMarginSerializer(serializers.Serializer[Any]):
    default_percent = serializers.IntegerField(help_text="DEFAULT_GROSS_MARGIN_PERCENT.")
    setting = serializers.CharField()
    revenue_with_product_cost = serializers.FloatField(
        allow_null=True, help_text='Share of revenue whose products have a unit cost (attributes "cost").'
    )


class DiscountSuggestionsSerializer(serializers.Serializer[Any]):
    experiment = serializers.IntegerField()
    campaign = serializers.IntegerField()
    confidence = serializers.FloatField()
    alpha = serializers.FloatField()
    power = serializers.FloatField()
    currency = serializers.CharField()
    reference = serializers.CharField()
    depths = DiscountDepthSerializer(many=True)
    gross_margin = GrossMarginSerializer()
    notes = serializers.ListField(child=serializers.CharField())
    segments = DiscountSegmentSerializer(many=True)
