"""What the assistant knows, in the admin: product questions and answers, help articles (Markdown, with a
rendered preview that never runs a manager's HTML), the indexed chunks (read-only: the index writes them)
and the publishable keys with the one-line snippet to paste into the storefront."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.large_lists import LargeListAdmin

from ..models import Article, KnowledgeChunk, ProductQuestion, PublishableKey
from ..rendering import render_markdown
from .formatting import DASH, excerpt

WIDGET_SCRIPT = "assistant/widget.js"
# the admin styles every h2 as a fieldset bar and strips list bullets: the preview reads like the article
PREVIEW_STYLE = mark_safe(
    "<style>.ast-preview{min-width:420px;max-width:760px;padding:4px 12px;border-radius:4px;"
    "border:1px solid var(--hairline-color,#ddd)}"
    ".ast-preview h1,.ast-preview h2,.ast-preview h3{background:none;color:inherit;padding:0;margin:12px 0 4px;"
    "font-size:15px;text-transform:none;letter-spacing:0}"
    "form .aligned .ast-preview ul,form .aligned .ast-preview ol{margin:4px 0 4px 1.6em;padding:0}"
    "form .aligned .ast-preview ul li{list-style:disc}form .aligned .ast-preview ol li{list-style:decimal}"
    ".ast-preview table td,.ast-preview table th{padding:2px 8px}</style>"
)


@admin.register(ProductQuestion)
class ProductQuestionAdmin(LargeListAdmin, admin.ModelAdmin[ProductQuestion]):
    list_display = ["product", "short_question", "short_answer", "source", "language", "created_at"]
    list_filter = ["source", "language", ("product", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["product"]
    search_fields = ["question", "answer", "product__sku", "product__title", "external_id"]
    autocomplete_fields = ["product"]
    readonly_fields = ["updated_at"]
    fields = ["product", "question", "answer", "language", "source", "external_id", "created_at", "updated_at"]

    @admin.display(description="question")
    def short_question(self, item: ProductQuestion) -> str:
        return excerpt(item.question, 90)

    @admin.display(description="answer")
    def short_answer(self, item: ProductQuestion) -> str:
        return excerpt(item.answer, 90) if item.answer else "(unanswered)"


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    list_display = ["title", "topic", "language", "is_published", "updated_at"]
    list_filter = ["topic", "is_published", "language"]
    list_editable = ["is_published"]
    search_fields = ["title", "body"]
    readonly_fields = ["preview", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "topic", "language", "is_published"]}),
        ("Text", {"fields": ["body", "preview"],
                  "description": "Markdown. Each ## section becomes a passage the assistant can quote and cite; "
                                 "the preview shows the saved text (HTML in it is shown as text)."}),
        ("When", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_form(self, request: HttpRequest, obj: Article | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "body" in form.base_fields:
            form.base_fields["body"].widget = forms.Textarea(attrs={"rows": 18, "cols": 100})
        return form

    @admin.display(description="preview")
    def preview(self, article: Article) -> SafeString | str:
        if not article.body:
            return "Save the article to see it rendered."
        return format_html('{}<div class="ast-preview">{}</div>', PREVIEW_STYLE, render_markdown(article.body))


@admin.register(KnowledgeChunk)
class KnowledgeChunkAdmin(LargeListAdmin, admin.ModelAdmin[KnowledgeChunk]):
    """What the assistant searches, as indexed; read-only (the index job writes it from the sources)."""

    list_display = ["kind", "title", "product", "language", "position", "embedding_model", "updated_at"]
    list_filter = ["kind", "language", "embedding_model"]
    list_select_related = ["product"]
    search_fields = ["title", "text", "product__sku"]
    fields = (
        "kind", "source_id", "position", "product", "title", "text", "language", "search_text", "embedding_model",
        "text_hash", "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PublishableKeyForm(forms.ModelForm[PublishableKey]):
    """Allowed origins as one per line ("https://shop.example.com"), each a scheme and host only."""

    allowed_origins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="One origin per line, e.g. https://shop.example.com (scheme, host and port only; no path).",
    )

    class Meta:
        model = PublishableKey
        fields = ["name", "site", "allowed_origins", "rate_per_minute", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound and isinstance(self.instance.allowed_origins, list):
            self.initial["allowed_origins"] = "\n".join(str(o) for o in self.instance.allowed_origins)

    def clean_allowed_origins(self) -> list[str]:
        origins: list[str] = []
        for line in (self.cleaned_data.get("allowed_origins") or "").replace(",", "\n").splitlines():
            origin = line.strip().rstrip("/")
            if not origin:
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise forms.ValidationError(f"{origin!r} is not an origin such as https://shop.example.com")
            if origin not in origins:
                origins.append(origin)
        return origins


@admin.register(PublishableKey)
class PublishableKeyAdmin(admin.ModelAdmin[PublishableKey]):
    form = PublishableKeyForm
    list_display = ["name", "site", "key", "origins", "rate_per_minute", "is_active", "conversation_count"]
    list_filter = ["is_active"]
    search_fields = ["name", "site", "key"]
    readonly_fields = ["key", "created_at"]
    change_form_template = "admin/assistant/publishablekey/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PublishableKey]:
        return super().get_queryset(request).annotate(_conversations=Count("conversations"))

    @admin.display(description="allowed origins")
    def origins(self, key: PublishableKey) -> str:
        return ", ".join(str(o) for o in key.allowed_origins) if key.allowed_origins else DASH

    @admin.display(description="conversations", ordering="_conversations")
    def conversation_count(self, key: PublishableKey) -> int:
        return getattr(key, "_conversations", 0)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        key = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if key is not None:
            extra["widget_snippet"] = widget_snippet(request.build_absolute_uri(static(WIDGET_SCRIPT)), key.key)
        return super().change_view(request, object_id, form_url, extra)


def widget_snippet(script_url: str, key: str) -> str:
    """The one line a storefront pastes before </body> (the template escapes it for display)."""
    return f'<script src="{script_url}" data-key="{key}" defer></script>'
