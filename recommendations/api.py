"""REST API of recommendations: live top-k for a customer, and similar products.

Customers and products are addressed by primary key, like `/customers/{id}/` and `/products/{id}/`.
Reading needs `view_customer` (recommendations) or `view_product` (similar products), as the model
permissions of the rest of the API.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Product
from customers.models import Customer

from . import served
from .ranking import recommend_for_customer
from .similar import similar_products

MAX_K = 100


class RecommendationItemSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField(source="product.pk", help_text="Product id.")
    sku = serializers.CharField(source="product.sku")
    title = serializers.CharField(source="product.title")
    category = serializers.CharField(source="product.category")
    price = serializers.DecimalField(source="product.price", max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField(source="product.currency")
    score = serializers.FloatField(help_text="Fused reciprocal-rank score (higher is better).")
    reason = serializers.CharField(help_text='Why it is recommended, e.g. "Because you viewed Mug 1".')
    sources = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rank of the product in each candidate source, from 1."
    )


class ModelVersionRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


@extend_schema_serializer(many=False)  # one object, although it is the viewset's `list`
class CustomerRecommendationsSerializer(serializers.Serializer[Any]):
    customer = serializers.IntegerField()
    items = RecommendationItemSerializer(many=True)
    model_version = ModelVersionRefSerializer(allow_null=True, help_text="The recommender version used, if any.")
    personalised = serializers.BooleanField(help_text="False when only popularity could be used.")
    fallback = serializers.CharField(help_text='"" when personalised, else "segment_popularity" or "popularity".')


@extend_schema_serializer(many=False)
class SimilarProductsSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField()
    items = RecommendationItemSerializer(many=True)
    model_version = ModelVersionRefSerializer(allow_null=True)


class RecommendationQuerySerializer(serializers.Serializer[Any]):
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10)
    category = serializers.CharField(required=False, allow_blank=True, max_length=300)
    exclude_purchased = serializers.BooleanField(default=True)


class SimilarQuerySerializer(serializers.Serializer[Any]):
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10)


def _version(version: Any) -> dict[str, Any] | None:
    return None if version is None else {"id": version.pk, "name": version.name}


def _query_params(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CustomerRecommendationsViewSet(viewsets.GenericViewSet[Customer]):
    """Live recommendations for one customer (ranked at request time)."""

    queryset = Customer.objects.all()
    serializer_class = CustomerRecommendationsSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        summary="Recommendations for a customer",
        description=(
            "Top-k products for the customer, fused from content (profile vector), collaborative filtering "
            "(ALS, item-item), bought-together, segment popularity and trending and their recent views; only "
            "active, in-stock products, diversified, each with a reason. A customer with no history gets "
            "segment or shop popularity (`personalised: false`)."
        ),
        parameters=[
            OpenApiParameter("customer_pk", int, OpenApiParameter.PATH, description="The customer's id."),
            OpenApiParameter("k", int, description=f"How many products (1-{MAX_K}), default 10."),
            OpenApiParameter("category", str, description='Category path prefix, e.g. "Home > Kitchen".'),
            OpenApiParameter(
                "exclude_purchased", bool,
                description="Leave out products bought in the last 90 days unless replenishable (default true).",
            ),
        ],
        responses=CustomerRecommendationsSerializer,
    )
    def list(self, request: Request, customer_pk: str | None = None) -> Response:
        params = _query_params(RecommendationQuerySerializer, request)
        customer_id = _int_id(customer_pk)
        if customer_id is None:
            raise NotFound(f"no customer with id {customer_pk}")
        result = recommend_for_customer(
            customer_id, k=params["k"], category=params.get("category") or None,
            exclude_purchased=params["exclude_purchased"],
        )
        if not result.customer_exists:  # read with the customer's context: no query of its own
            raise NotFound(f"no customer with id {customer_pk}")
        served.record(served.Channel.API, len(result.items))
        return Response({
            "customer": customer_id,
            "items": RecommendationItemSerializer(result.items, many=True).data,
            "model_version": _version(result.model_version),
            "personalised": result.personalised,
            "fallback": result.fallback,
        })


class SimilarProductsViewSet(viewsets.GenericViewSet[Product]):
    """Products similar to one product."""

    queryset = Product.objects.all()
    serializer_class = SimilarProductsSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        summary="Similar products",
        description=(
            "Products like this one: nearest by text embedding, blended with item-item and bought-together "
            "neighbours when the recommender knows the product; only active, in-stock products."
        ),
        parameters=[
            OpenApiParameter("product_pk", int, OpenApiParameter.PATH, description="The product's id."),
            OpenApiParameter("k", int, description=f"How many products (1-{MAX_K}), default 10."),
        ],
        responses=SimilarProductsSerializer,
    )
    def list(self, request: Request, product_pk: str | None = None) -> Response:
        params = _query_params(SimilarQuerySerializer, request)
        product_id = _int_id(product_pk)
        if product_id is None or not Product.objects.filter(pk=product_id).exists():
            raise NotFound(f"no product with id {product_pk}")
        result = similar_products(product_id, k=params["k"])
        served.record(served.Channel.SIMILAR, len(result.items))
        return Response({
            "product": product_id,
            "items": RecommendationItemSerializer(result.items, many=True).data,
            "model_version": _version(result.model_version),
        })


def _int_id(value: str | None) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None
