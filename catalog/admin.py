from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Avg, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from core.large_lists import LargeListAdmin
from jobs.runner import start_job

from .active_models import forget_loaded_models
from .charts import COLOURS, sentiment_over_time_svg, share_bar
from .model_versions import activate
from .models import GeneratedText, ModelVersion, Product, ProductInsight, Review, ReviewInsight
from .version_metrics import deciles_chart, headline_rows, quality_table

REVIEWS_SHOWN = 20  # reviews inline on a product's page, newest first (a product may have thousands)


class ReviewInline(admin.TabularInline[Review, Product]):
    """The product's latest REVIEWS_SHOWN reviews (`ProductAdmin.get_formset_kwargs` bounds them); the review
    list filtered to the product holds every one."""

    model = Review
    verbose_name_plural = f"latest reviews (at most {REVIEWS_SHOWN}; all of them in the review list)"
    fields = ["created_at", "rating", "title", "text", "language"]
    readonly_fields = ["created_at", "rating", "title", "text", "language"]
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ["-created_at"]


@admin.register(Product)
class ProductAdmin(LargeListAdmin, admin.ModelAdmin[Product]):
    list_display = [
        "sku", "title", "category", "brand", "price", "currency", "is_active", "in_stock", "review_count",
        "average_rating",
        "insight_link",
    ]
    list_filter = ["is_active", "in_stock", "brand", "currency"]
    search_fields = ["sku", "title", "description", "category", "brand"]
    list_editable = ["is_active", "in_stock"]
    list_per_page = 50
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["sku", "title", "description"]}),
        ("Placement", {"fields": ["category", "brand"]}),
        ("Sale", {"fields": ["price", "currency", "is_active", "in_stock"]}),
        ("More", {"fields": ["attributes", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [ReviewInline]

    @admin.display(description="insight")
    def insight_link(self, product: Product) -> str:
        url = reverse("admin:catalog_product_insight", args=[product.pk])
        return format_html('<a href="{}">insight</a>', url)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:object_id>/insight/",
                self.admin_site.admin_view(self.insight_view),
                name="catalog_product_insight",
            ),
            path(
                "<int:object_id>/insight/refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name="catalog_product_insight_refresh",
            ),
        ]
        return own + super().get_urls()

    def insight_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The product's insight page: trend chart, pain points with quotes, praised aspects, topics, needs."""
        product = get_object_or_404(Product, pk=object_id)
        if not self.has_view_permission(request, product):
            return HttpResponseRedirect(reverse("admin:index"))
        insight = ProductInsight.objects.filter(product=product).select_related("summary_model").first()
        if insight is not None:
            for item in insight.pain_points:
                item["bar"] = share_bar(item.get("negative_share", 0), COLOURS["negative"])
            for item in insight.praised_aspects:
                item["bar"] = share_bar(item.get("positive_share", 0), COLOURS["positive"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Insight: {product.title}",
            "product": product,
            "insight": insight,
            "chart": sentiment_over_time_svg(insight.sentiment_over_time if insight else []),
            "sentiments": sorted((insight.sentiment_distribution if insight else {}).items()),
            "ratings": sorted((insight.rating_distribution if insight else {}).items()),
        }
        return TemplateResponse(request, "admin/catalog/product/insight.html", context)

    def refresh_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        product = get_object_or_404(Product, pk=object_id)
        if request.method == "POST" and request.user.has_perm("jobs.add_job"):
            review_ids = list(product.reviews.values_list("pk", flat=True))
            with transaction.atomic():
                job = start_job("analyze_reviews", {"review_ids": review_ids}, user=request.user)
            url = reverse("admin:jobs_job_change", args=[job.pk])
            self.message_user(request, format_html('Analysis started: <a href="{}">job {}</a>.', url, job.pk))
        else:
            self.message_user(request, "You may not start jobs.", level=messages.ERROR)
        return HttpResponseRedirect(reverse("admin:catalog_product_insight", args=[product.pk]))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        """Review count and average rating as correlated subqueries on the (product, created_at) index: computed
        for the page's 50 rows only, where a JOIN + GROUP BY aggregated every review of the shop first."""
        reviews = Review.objects.filter(product=OuterRef("pk")).order_by().values("product")
        return super().get_queryset(request).annotate(
            _reviews=Coalesce(Subquery(reviews.annotate(n=Count("pk")).values("n")), 0),
            _rating=Subquery(reviews.annotate(mean=Avg("rating")).values("mean")),
        )

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        """The review inline shows only the latest REVIEWS_SHOWN reviews (an inline's queryset cannot be sliced,
        so their ids are read first: one query on the (product, created_at) index)."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ReviewInline) and obj is not None and obj.pk is not None:
            latest = list(Review.objects.filter(product=obj).order_by("-created_at", "-id")
                          .values_list("pk", flat=True)[:REVIEWS_SHOWN])
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=latest)
        return kwargs

    @admin.display(description="reviews", ordering="_reviews")
    def review_count(self, product: Product) -> int:
        return getattr(product, "_reviews", 0)

    @admin.display(description="avg rating", ordering="_rating")
    def average_rating(self, product: Product) -> str:
        rating = getattr(product, "_rating", None)
        return "-" if rating is None else f"{rating:.1f}"


class ReviewInsightInline(admin.StackedInline[ReviewInsight, Review]):
    model = ReviewInsight
    can_delete = False
    fields = [
        "language", "sentiment", "sentiment_score", "polarity", "aspects", "sentiment_model", "aspect_model",
        "embedding_model", "processed_at",
    ]
    readonly_fields = [
        "language", "sentiment", "sentiment_score", "polarity", "aspects", "sentiment_model", "aspect_model",
        "embedding_model", "processed_at",
    ]
    verbose_name = "extracted insight"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Review)
class ReviewAdmin(LargeListAdmin, admin.ModelAdmin[Review]):
    list_display = ["external_id", "product", "rating", "sentiment", "short_text", "language", "source", "created_at"]
    list_filter = ["rating", "insight__sentiment", "language", "source", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["external_id", "title", "text", "product__sku", "product__title"]
    list_select_related = ["product", "insight"]
    autocomplete_fields = ["product", "customer"]
    readonly_fields = ["updated_at"]
    inlines = [ReviewInsightInline]

    @admin.display(description="sentiment", ordering="insight__sentiment")
    def sentiment(self, review: Review) -> str:
        insight = getattr(review, "insight", None)
        if insight is None or not insight.sentiment:
            return "-"
        return format_html(
            '<span style="color:{}">{}</span> {}',
            COLOURS.get(insight.sentiment, "#666"),
            insight.sentiment,
            f"{insight.sentiment_score:.2f}" if insight.sentiment_score is not None else "",
        )

    @admin.display(description="review")
    def short_text(self, review: Review) -> str:
        return Truncator(f"{review.title} {review.text}".strip()).chars(90)


@admin.register(ProductInsight)
class ProductInsightAdmin(LargeListAdmin, admin.ModelAdmin[ProductInsight]):
    list_display = ["product", "review_count", "rating_average", "top_pain_point", "top_praised", "computed_at"]
    search_fields = ["product__sku", "product__title"]
    list_select_related = ["product"]
    readonly_fields = [f.name for f in ProductInsight._meta.fields]

    @admin.display(description="top pain point")
    def top_pain_point(self, insight: ProductInsight) -> str:
        return str(insight.pain_points[0]["aspect"]) if insight.pain_points else "-"

    @admin.display(description="top praised")
    def top_praised(self, insight: ProductInsight) -> str:
        return str(insight.praised_aspects[0]["aspect"]) if insight.praised_aspects else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ["role", "language", "name", "is_active", "headline_metrics", "base_model", "created_at"]
    list_filter = ["role", "language", "is_active"]
    search_fields = ["name", "base_model"]
    readonly_fields = [
        "role", "language", "name", "path", "base_model", "quality", "deciles_chart", "params", "metrics", "job",
        "created_at", "is_active",
    ]
    actions = ["activate_version"]

    @admin.display(description="metrics")
    def headline_metrics(self, version: ModelVersion) -> str:
        shown = [f"{row.label} {row.value:.3f}" for row in headline_rows(version.metrics)[:3]]
        return ", ".join(shown) or "-"

    @admin.display(description="validation metrics vs baselines")
    def quality(self, version: ModelVersion) -> SafeString | str:
        return quality_table(version.metrics)

    @admin.display(description="deciles: predicted vs actual")
    def deciles_chart(self, version: ModelVersion) -> SafeString | str:
        return deciles_chart(version.role, version.metrics)

    @admin.action(description="Activate the selected version (one per role)", permissions=["change"])
    def activate_version(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset:
            activate(version)
        forget_loaded_models()
        self.message_user(request, f"{queryset.count()} version(s) activated.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(GeneratedText)
class GeneratedTextAdmin(LargeListAdmin, admin.ModelAdmin[GeneratedText]):
    list_display = ["prompt_hash", "model_name", "short_output", "created_at"]
    search_fields = ["prompt", "output", "model_name"]
    readonly_fields = ["prompt_hash", "model_name", "prompt", "output", "created_at"]

    @admin.display(description="output")
    def short_output(self, item: GeneratedText) -> str:
        return Truncator(item.output).chars(90)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
