"""REST API for products and reviews: serializers, filters and viewsets."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.upsert import BatchLookupSlugField, UpsertKeyMixin, UpsertReport, UpsertSpec
from core.viewsets import BulkUpsertMixin, bulk_schema, check_json_object

from .models import ModelVersion, Product, ProductInsight, Review, ReviewInsight
from .tasks import request_product_embedding, request_review_analysis


def _customer_model() -> Any:
    # Reviews may name their author, but catalog must not import customers (dependencies point
    # downward), so the model is looked up by label.
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
        value = value.strip()
        if not value:
            raise serializers.ValidationError("must not be blank")
        return value

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
        queryset=_customer_model().objects.all(),
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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        title = attrs.get("title", getattr(self.instance, "title", ""))
        text = attrs.get("text", getattr(self.instance, "text", ""))
        if not (title or "").strip() and not (text or "").strip():
            raise serializers.ValidationError({"text": "a review needs a text or a title"})
        return attrs


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    class Meta:
        model = ModelVersion
        fields = ["id", "role", "name", "base_model", "metrics", "created_at"]


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


PRODUCT_UPSERT = UpsertSpec(model=Product, serializer_class=ProductSerializer, key="sku")
REVIEW_UPSERT = UpsertSpec(
    model=Review,
    serializer_class=ReviewSerializer,
    key="external_id",
    references={"product": (Product, "sku"), "customer": (_customer_model(), "external_id")},
)


# --- Views ------------------------------------------------------------------------------------------

class ProductFilter(filters.FilterSet):
    category = filters.CharFilter(lookup_expr="istartswith", help_text="Category path prefix.")
    brand = filters.CharFilter(lookup_expr="iexact")
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte")
    updated_since = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Product
        fields = ["category", "brand", "is_active", "in_stock", "currency"]


@extend_schema_view(
    list=extend_schema(summary="List products", description="Filter by category prefix, brand, price, stock."),
    retrieve=extend_schema(summary="Get a product"),
    create=extend_schema(summary="Create a product"),
    update=extend_schema(summary="Replace a product"),
    partial_update=extend_schema(summary="Update a product"),
    destroy=extend_schema(summary="Delete a product", description="Its reviews are deleted with it."),
    bulk=bulk_schema(ProductSerializer),
)
class ProductViewSet(BulkUpsertMixin, viewsets.ModelViewSet[Product]):
    """Products of the catalog, keyed by SKU."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["sku", "title", "description", "brand", "category"]
    ordering_fields = ["sku", "title", "price", "created_at", "updated_at"]
    upsert_spec = PRODUCT_UPSERT

    # New and edited products are embedded by a background job (when a worker runs).
    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer)
        request_product_embedding(self.request.user)

    def perform_update(self, serializer: Any) -> None:
        super().perform_update(serializer)
        request_product_embedding(self.request.user)

    def after_bulk_upsert(self, request: Request, report: UpsertReport) -> None:
        request_product_embedding(request.user)

    @extend_schema(
        summary="Product insight",
        description="What reviewers say: rating and sentiment over time, praised aspects, pain points with "
        "quotes, topics, needs and a grounded summary. 404 until the product's reviews are analysed.",
        responses={200: ProductInsightSerializer},
    )
    @action(detail=True, methods=["get"])
    def insight(self, request: Request, pk: str | None = None) -> Response:
        product = self.get_object()
        insight = ProductInsight.objects.filter(product=product).select_related("summary_model").first()
        if insight is None:
            raise NotFound("no insight yet: the product's reviews have not been analysed")
        return Response(ProductInsightSerializer(insight).data)


class ReviewFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__sku", help_text="Product SKU.")
    customer = filters.CharFilter(field_name="customer__external_id", help_text="Customer external id.")
    min_rating = filters.NumberFilter(field_name="rating", lookup_expr="gte")
    max_rating = filters.NumberFilter(field_name="rating", lookup_expr="lte")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Review
        fields = ["product", "customer", "rating", "language", "source"]


@extend_schema_view(
    list=extend_schema(summary="List reviews", description="Filter by product SKU, rating, language, time."),
    retrieve=extend_schema(summary="Get a review"),
    create=extend_schema(summary="Create a review"),
    update=extend_schema(summary="Replace a review"),
    partial_update=extend_schema(summary="Update a review"),
    destroy=extend_schema(summary="Delete a review"),
    bulk=bulk_schema(ReviewSerializer),
)
class ReviewViewSet(BulkUpsertMixin, viewsets.ModelViewSet[Review]):
    """Product reviews written by customers, keyed by the source's review id."""

    queryset = Review.objects.select_related("product", "customer")
    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    search_fields = ["title", "text", "external_id"]
    ordering_fields = ["created_at", "rating", "updated_at"]
    upsert_spec = REVIEW_UPSERT

    # New and edited reviews are analysed by a background job (when a worker runs).
    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer)
        request_review_analysis(self.request.user)

    def perform_update(self, serializer: Any) -> None:
        super().perform_update(serializer)
        request_review_analysis(self.request.user)

    def after_bulk_upsert(self, request: Request, report: UpsertReport) -> None:
        request_review_analysis(request.user)

    @extend_schema(
        summary="Review insight",
        description="Language, sentiment with its score, aspects with their polarity, and the model versions "
        "that produced them. 404 until the review is analysed.",
        responses={200: ReviewInsightSerializer},
    )
    @action(detail=True, methods=["get"])
    def insight(self, request: Request, pk: str | None = None) -> Response:
        review = self.get_object()
        insight = ReviewInsight.objects.filter(review=review).select_related("sentiment_model", "aspect_model").first()
        if insight is None:
            raise NotFound("no insight yet: this review has not been analysed")
        return Response(ReviewInsightSerializer(insight).data)
