"""REST API for products and reviews: filters and viewsets (serializers in serializers.py, how rows are
written in upserts.py)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.filters import MomentFilter
from core.viewsets import UpsertModelViewSet, upsert_schema

from .models import Product, ProductInsight, Review, ReviewInsight
from .serializers import ProductInsightSerializer, ProductSerializer, ReviewInsightSerializer, ReviewSerializer
from .upserts import PRODUCT_UPSERT, REVIEW_UPSERT


class ProductFilter(filters.FilterSet):
    sku = filters.CharFilter(help_text="The product's SKU, exactly (or use `products/by-sku/{sku}/`).")
    category = filters.CharFilter(lookup_expr="istartswith", help_text="Category path prefix.")
    brand = filters.CharFilter(lookup_expr="iexact")
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte")
    updated_since = MomentFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Product
        fields = ["sku", "category", "brand", "is_active", "in_stock", "currency"]


@upsert_schema(
    PRODUCT_UPSERT,
    one="a product",
    many="products",
    list_description="Filter by SKU (exact), category prefix, brand, price, stock.",
    destroy_description="Its reviews are deleted with it.",
)
class ProductViewSet(UpsertModelViewSet[Product]):
    """Products of the catalog, keyed by SKU."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["sku", "title", "description", "brand", "category"]
    ordering_fields = ["sku", "title", "price", "created_at", "updated_at"]
    upsert_spec = PRODUCT_UPSERT  # writes queue the products' embedding

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
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Review
        fields = ["product", "customer", "rating", "language", "source"]


@upsert_schema(
    REVIEW_UPSERT, one="a review", many="reviews", list_description="Filter by product SKU, rating, language, time."
)
class ReviewViewSet(UpsertModelViewSet[Review]):
    """Product reviews written by customers, keyed by the source's review id."""

    queryset = Review.objects.select_related("product", "customer")
    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    search_fields = ["title", "text", "external_id"]
    ordering_fields = ["created_at", "rating", "updated_at"]
    upsert_spec = REVIEW_UPSERT  # writes queue the reviews' analysis

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
