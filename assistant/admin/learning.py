"""Questions the assistant could not answer, and the page that teaches it the answer: a help article or a
product's question and answer, prefilled with the shopper's question. The step is
`assistant.inbox.do_learn_as_article` / `do_learn_as_product_answer`; saving the new row re-indexes it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from catalog.models import Product
from core.actors import has_perm
from core.large_lists import LargeListAdmin

from .. import inbox
from ..models import ArticleTopic, UnansweredQuestion
from ..redaction import redact
from .formatting import DASH, excerpt, score

LEARN_TEMPLATE = "admin/assistant/unansweredquestion/learn.html"
INTENT_TOPICS = {"delivery": ArticleTopic.DELIVERY, "returns": ArticleTopic.RETURNS}


class ResolvedFilter(admin.SimpleListFilter):
    title = "resolved"
    parameter_name = "resolved"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "not yet"), ("yes", "resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=inbox.MAX_TITLE_CHARS)
    topic = forms.ChoiceField(choices=ArticleTopic.choices)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), help_text="Markdown; ## starts a section.")
    publish = forms.BooleanField(required=False, initial=True, help_text="Only published articles are indexed.")


class ProductAnswerForm(forms.Form):
    product = forms.CharField(label="product SKU", max_length=100)
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))

    def clean_product(self) -> Product:
        sku = self.cleaned_data["product"].strip()
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise forms.ValidationError(f"no product with SKU {sku!r}")
        return product


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(LargeListAdmin, admin.ModelAdmin[UnansweredQuestion]):
    list_display = ["short_question", "product", "language", "created_at", "best", "resolved", "answered_by", "learn"]
    list_filter = [ResolvedFilter, "language", "created_at"]
    list_select_related = ["product", "answered_by_article", "answered_by_question", "resolved_by"]
    search_fields = ["question", "product__sku", "product__title"]
    ordering = ["resolved_at", "-created_at"]
    readonly_fields = (
        "question", "product", "language", "best_score", "created_at", "conversation_link", "resolved_at",
        "resolved_by", "answered_by_article", "answered_by_question",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # they are recorded by the assistant when it hands off

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        title = "Questions the assistant could not answer"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="question")
    def short_question(self, item: UnansweredQuestion) -> str:
        return excerpt(item.question, 100)

    @admin.display(description="best score", ordering="best_score")
    def best(self, item: UnansweredQuestion) -> str:
        return score(item.best_score)

    @admin.display(description="resolved", boolean=True, ordering="resolved_at")
    def resolved(self, item: UnansweredQuestion) -> bool:
        return item.resolved_at is not None

    @admin.display(description="answered by")
    def answered_by(self, item: UnansweredQuestion) -> SafeString | str:
        if item.answered_by_article_id:
            url = reverse("admin:assistant_article_change", args=[item.answered_by_article_id])
            return format_html('article <a href="{}">{}</a>', url, item.answered_by_article)
        if item.answered_by_question_id:
            url = reverse("admin:assistant_productquestion_change", args=[item.answered_by_question_id])
            return format_html('<a href="{}">product answer</a>', url)
        return DASH

    @admin.display(description="")
    def learn(self, item: UnansweredQuestion) -> SafeString | str:
        if item.resolved_at is not None:
            return ""
        url = reverse("admin:assistant_unansweredquestion_learn", args=[item.pk])
        return format_html('<a href="{}">teach the answer</a>', url)

    @admin.display(description="conversation")
    def conversation_link(self, item: UnansweredQuestion) -> SafeString:
        conversation_id = item.message.conversation_id
        url = reverse("admin:assistant_conversation_change", args=[conversation_id])
        return format_html('<a href="{}#message-{}">{}</a>', url, item.message_id, str(conversation_id)[:8])

    def get_urls(self) -> list[URLPattern]:
        learn = path(
            "<int:object_id>/learn/", self.admin_site.admin_view(self.learn_view),
            name="assistant_unansweredquestion_learn",
        )
        return [learn, *super().get_urls()]

    def learn_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Two forms side by side, prefilled: an article (topic from the question's intent) or a product answer."""
        item = get_object_or_404(
            UnansweredQuestion.objects.select_related(
                "product", "message", "answered_by_article", "answered_by_question"
            ),
            pk=object_id,
        )
        if not self.has_view_permission(request, item):
            raise PermissionDenied
        question = redact(item.question).strip()  # an article is public: no shopper's contact details in it
        article_form = ArticleForm(initial={
            "title": excerpt(question, inbox.MAX_TITLE_CHARS),
            "topic": INTENT_TOPICS.get(item.message.intent, ArticleTopic.FAQ),
            "body": f"## {question}\n\n",
            "publish": True,
        })
        answer_form = ProductAnswerForm(initial={"product": item.product.sku if item.product else ""})
        if request.method == "POST":
            kind = request.POST.get("kind", "")
            try:
                if kind == "article":
                    article_form = ArticleForm(request.POST)
                    if article_form.is_valid():
                        return self._learn_article(request, item, article_form.cleaned_data)
                elif kind == "answer":
                    answer_form = ProductAnswerForm(request.POST)
                    if answer_form.is_valid():
                        return self._learn_answer(request, item, answer_form.cleaned_data)
                else:
                    self.message_user(request, f"Unknown form {kind!r}.", messages.ERROR)
            except inbox.InboxError as exc:
                self.message_user(request, f"Not done: {exc}.", messages.ERROR)
            except PermissionDenied as exc:
                context = {
                    **self.admin_site.each_context(request), "opts": self.opts, "title": "Not allowed",
                    "reason": str(exc), "back_url": request.path,
                }
                return TemplateResponse(request, "admin/assistant/refused.html", context, status=403)
        can_learn = has_perm(request.user, inbox.RESOLVE_PERMISSION)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Teach the assistant the answer",
            "item": item,
            "original": item,
            "best_score": score(item.best_score),
            "conversation_link": self.conversation_link(item),
            "article_form": article_form,
            "answer_form": answer_form,
            "can_learn": can_learn and item.resolved_at is None,
        }
        return TemplateResponse(request, LEARN_TEMPLATE, context)

    def _learn_article(self, request: HttpRequest, item: UnansweredQuestion, data: dict[str, Any]) -> HttpResponse:
        article = inbox.do_learn_as_article(
            item, data["title"], data["body"], data["topic"], data["publish"], request.user
        )
        url = reverse("admin:assistant_article_change", args=[article.pk])
        published = "published and indexed" if article.is_published else "saved as a draft (publish it to index it)"
        self.message_user(request, format_html('Article <a href="{}">{}</a> {}.', url, article, published))
        return HttpResponseRedirect(reverse("admin:assistant_unansweredquestion_changelist") + "?resolved=no")

    def _learn_answer(self, request: HttpRequest, item: UnansweredQuestion, data: dict[str, Any]) -> HttpResponse:
        question = inbox.do_learn_as_product_answer(item, data["product"], data["answer"], request.user)
        url = reverse("admin:assistant_productquestion_change", args=[question.pk])
        self.message_user(
            request, format_html('<a href="{}">Product answer</a> saved for {}: the assistant answers it now.',
                                 url, question.product)
        )
        return HttpResponseRedirect(reverse("admin:assistant_unansweredquestion_changelist") + "?resolved=no")
