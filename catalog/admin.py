from __future__ import annotations

from django.contrib import admin
from django.db.models import Avg, Count, QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from .models import Product, Review


class ReviewInline(admin.TabularInline[Review, Product]):
    model = Review
    fields = ["created_at", "rating", "title", "text", "language"]
    readonly_fields = ["created_at", "rating", "title", "text", "language"]
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ["-created_at"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = [
        "sku", "title", "category", "brand", "price", "currency", "is_active", "in_stock", "review_count",
        "average_rating",
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(_reviews=Count("reviews"), _rating=Avg("reviews__rating"))

    @admin.display(description="reviews", ordering="_reviews")
    def review_count(self, product: Product) -> int:
        return getattr(product, "_reviews", 0)

    @admin.display(description="avg rating", ordering="_rating")
    def average_rating(self, product: Product) -> str:
        rating = getattr(product, "_rating", None)
        return "-" if rating is None else f"{rating:.1f}"


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ["external_id", "product", "rating", "short_text", "language", "source", "created_at"]
    list_filter = ["rating", "language", "source"]
    search_fields = ["external_id", "title", "text", "product__sku", "product__title"]
    date_hierarchy = "created_at"
    list_select_related = ["product"]
    autocomplete_fields = ["product", "customer"]
    readonly_fields = ["updated_at"]

    @admin.display(description="review")
    def short_text(self, review: Review) -> str:
        return Truncator(f"{review.title} {review.text}".strip()).chars(90)
