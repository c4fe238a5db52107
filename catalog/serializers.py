"""What the catalog's API reads and writes: serializers of products, reviews and their insight.

`ProductSerializer` and `ReviewSerializer` validate every written row, from the API (one object or
bulk) and from imports alike (see `upserts.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import apps
from rest_framework import serializers

from core.moments import check_plausible
from core.upsert import BatchLookupSlugField, UpsertKeyMixin
from core.viewsets import check_json_object, check_not_blank

from .models import ModelVersion, Product, ProductInsight, Review, ReviewInsight


def customer_model() -> Any:
    """The customer model, looked up by label: reviews may name their author, but catalog must not
    import customers (dependencies point downward)."""
    return apps.get_model("customers", "Customer")


class ProductSerializer(UpsertKeyMixin, serializers.ModelSerializer[Product]):
    upsert_key = "sku"

    class Meta:
        model = Product
        fields = [
            "id", "sku", "title", "description", "category", "brand", "price", "currency",
            "is_active", "in_stock", "attributes", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]

    def validate_sku(self, value: str) -> str:
        return check_not_blank(value)

    def validate_currency(self, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("must be a 3-letter ISO 4217 code such as USD")
        return value

    def validate_price(self, value: Any) -> Any:
        if value is not None and value < 0:
            raise serializers.ValidationError("must not be negative")
        return value

    def validate_attributes(self, value: Any) -> Any:
        return check_json_object(value)


class ReviewSerializer(UpsertKeyMixin, serializers.ModelSerializer[Review]):
    upsert_key = "external_id"
    product = BatchLookupSlugField(slug_field="sku", queryset=Product.objects.all(), help_text="Product SKU.")
    customer = BatchLookupSlugField(
        slug_field="external_id",
        queryset=customer_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="Customer external id (optional).",
    )

    class Meta:
        model = Review
        fields = [
            "id", "external_id", "product", "customer", "rating", "title", "text", "language", "source",
            "created_at", "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]

    def validate_created_at(self, value: datetime) -> datetime:
        return check_plausible(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        title = attrs.get("title", getattr(self.instance, "title", ""))
        text = attrs.get("text", getattr(self.instance, "text", ""))
        if not (title or "").strip() and not (text or "").strip():
            raise serializers.ValidationError({"text": "a review needs a text or a title"})
        return attrs


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    class Meta:
        model = ModelVersion
        fields = ["id", "role", "language", "name", "base_model", "metrics", "created_at"]


class ReviewInsightSerializer(serializers.ModelSerializer[ReviewInsight]):
    sentiment_model = ModelVersionSerializer(read_only=True)
    aspect_model = ModelVersionSerializer(read_only=True)

    class Meta:
        model = ReviewInsight
        fields = [
            "review", "language", "sentiment", "sentiment_score", "polarity", "aspects", "sentiment_model",
            "aspect_model", "embedding_model", "processed_at",
        ]


class ProductInsightSerializer(serializers.ModelSerializer[ProductInsight]):
    summary_model = ModelVersionSerializer(read_only=True)

    class Meta:
        model = ProductInsight
        fields = [
            "product", "review_count", "rating_average", "rating_distribution", "sentiment_distribution",
            "sentiment_over_time", "praised_aspects", "pain_points", "topics", "needs", "summary",
            "summary_model", "summary_at", "computed_at",
        ]
