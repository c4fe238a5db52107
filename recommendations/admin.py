"""Admin for precomputed recommendations: read-only, with the ranked items readable at a glance."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from core.large_lists import LargeListAdmin

from .models import RecommendationSet


@admin.register(RecommendationSet)
class RecommendationSetAdmin(LargeListAdmin, admin.ModelAdmin[RecommendationSet]):
    list_display = ["customer", "item_count", "top_items", "model_version", "computed_at"]
    list_select_related = ["customer", "model_version"]
    list_filter = ["model_version", "computed_at"]
    search_fields = ["customer__external_id__exact", "customer__email__exact"]  # indexed: no scan of a million
    search_help_text = "A customer's exact id or email."
    fields = ["customer", "model_version", "job", "computed_at", "items_table"]
    readonly_fields = ["customer", "model_version", "job", "computed_at", "items_table"]
    list_per_page = 50

    @admin.display(description="items")
    def item_count(self, obj: RecommendationSet) -> int:
        return len(obj.items or [])

    @admin.display(description="top 3")
    def top_items(self, obj: RecommendationSet) -> str:
        return ", ".join(str(item.get("title") or item.get("sku") or item.get("product")) for item in obj.items[:3])

    @admin.display(description="ranked items")
    def items_table(self, obj: RecommendationSet) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    rank, item.get("sku", ""), item.get("title", ""), item.get("reason", ""),
                    f"{item.get('score', 0):.4f}",
                    ", ".join(f"{source} #{r}" for source, r in sorted(item.get("sources", {}).items(),
                                                                      key=lambda pair: pair[1])),
                )
                for rank, item in enumerate(obj.items, start=1)
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>SKU</th><th>title</th><th>reason</th><th>score</th><th>sources</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
