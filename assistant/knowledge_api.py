"""REST API for the assistant's knowledge: product questions and answers (single objects and bulk, by
their external id) and help articles. Managers write, analysts read (model permissions); every change
queues a re-index (triggers.py)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from core.filters import MomentFilter
from core.viewsets import UpsertModelViewSet, upsert_schema

from .models import Article, ProductQuestion
from .serializers import ArticleSerializer, ProductQuestionSerializer
from .upserts import PRODUCT_QUESTION_UPSERT


class ProductQuestionFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__sku", help_text="Product SKU.")
    answered = filters.BooleanFilter(method="filter_answered", help_text="Only answered (true) or unanswered.")
    updated_since = MomentFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = ProductQuestion
        fields = ["product", "language", "source"]

    def filter_answered(
        self, queryset: QuerySet[ProductQuestion], name: str, value: bool | None
    ) -> QuerySet[ProductQuestion]:
        if value is None:
            return queryset
        answered = {"answer__regex": r"\S"}
        return queryset.filter(**answered) if value else queryset.exclude(**answered)


@upsert_schema(
    PRODUCT_QUESTION_UPSERT, one="a product question", many="product questions",
    list_description="Filter by product SKU, language, source, answered.",
)
class ProductQuestionViewSet(UpsertModelViewSet[ProductQuestion]):
    """Shoppers' questions about products with their answers, keyed by the source's question id."""

    queryset = ProductQuestion.objects.select_related("product")
    serializer_class = ProductQuestionSerializer
    filterset_class = ProductQuestionFilter
    search_fields = ["question", "answer", "external_id"]
    ordering_fields = ["created_at", "updated_at"]
    upsert_spec = PRODUCT_QUESTION_UPSERT


class ArticleFilter(filters.FilterSet):
    class Meta:
        model = Article
        fields = ["topic", "language", "is_published"]


@extend_schema_view(
    list=extend_schema(summary="List help articles", description="Filter by topic, language, published."),
    retrieve=extend_schema(summary="Get a help article"),
    create=extend_schema(summary="Create a help article", description="Markdown; each ## section is a passage."),
    update=extend_schema(summary="Replace a help article"),
    partial_update=extend_schema(summary="Update a help article"),
    destroy=extend_schema(summary="Delete a help article"),
)
class ArticleViewSet(viewsets.ModelViewSet[Article]):
    """Help articles (delivery, returns, warranty, sizing, FAQ) the assistant answers from once published."""

    queryset = Article.objects.all()
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter
    search_fields = ["title", "body"]
    ordering_fields = ["title", "topic", "created_at", "updated_at"]
