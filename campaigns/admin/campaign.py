"""The campaign change page: the brief (form and fieldsets), the live audience, the status history, the
workflow buttons, the list with its bulk actions, and the URLs of the campaign's other pages (review,
preview and results, each in its own module; the buttons' view in `pages`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..actions import AUDITED_SETTINGS, audit_settings
from ..audience import AudienceError, audience_size, validate_audience_filters
from ..charts import scheduled_hours_svg
from ..delivery import sending_progress
from ..models import Campaign, Variant
from .discounts import DiscountsPage
from .preview import PreviewPage
from .results import ResultsPage
from .review import ReviewPage

Status = Campaign.Status


class CampaignForm(forms.ModelForm[Campaign]):
    """Banned words as one phrase per line; audience filters checked by `campaigns.audience` on save."""

    banned_words = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text="One word or phrase per line (commas also separate). The copy must not contain them.",
    )
    landing_url = forms.URLField(
        required=False, assume_scheme="https", max_length=200, help_text="Where links in the message lead."
    )

    class Meta:
        model = Campaign
        fields = [
            "name", "goal", "channel", "brief", "brand_voice", "tone", "language", "segments", "audience_filters",
            "products", "recommend_products", "offer", "banned_words", "required_text", "greeting", "sign_off",
            "landing_url",
            "attribution_days", "variants_per_group", "personalise_per_customer",
            "send_timing",
        ]
        widgets = {
            "brief": forms.Textarea(attrs={"rows": 4, "cols": 80}),
            "brand_voice": forms.Textarea(attrs={"rows": 3, "cols": 80}),
            "required_text": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "sign_off": forms.Textarea(attrs={"rows": 2, "cols": 60}),
            "audience_filters": forms.Textarea(attrs={"rows": 3, "cols": 60}),
        }
        help_texts = {
            "audience_filters": (
                'JSON, all optional: {"lifecycle": ["at_risk"], "locale": "en", "country": "GB", "min_orders": 1, '
                '"max_orders": 5, "min_revenue": 50, "min_purchase_probability": 0.2, "min_churn_risk": 0.5, '
                '"max_churn_risk": 0.9, "category": "Sports > Running" (viewed, carted or bought there)}; '
                '"uplift_top_percent": 20 (with "uplift_model": "<version>", else the active '
                'one) keeps the 20% the offer is most likely to change'
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.banned_words, list) and not self.is_bound:
            self.initial["banned_words"] = "\n".join(str(word) for word in self.instance.banned_words)

    def clean_banned_words(self) -> list[str]:
        raw = self.cleaned_data.get("banned_words") or ""
        words: list[str] = []
        for line in raw.replace(",", "\n").splitlines():
            word = line.strip()
            if word and word.lower() not in {w.lower() for w in words}:
                words.append(word)
        return words

    def clean_audience_filters(self) -> dict[str, Any]:
        try:
            return validate_audience_filters(self.cleaned_data.get("audience_filters"))
        except AudienceError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(Campaign)
class CampaignAdmin(ReviewPage, PreviewPage, ResultsPage, DiscountsPage):
    form = CampaignForm
    list_display = [
        "name", "channel", "goal", "status_badge", "variants_progress", "created_by", "created_at", "pages",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "channel", "goal"]
    search_fields = ["name", "brief"]
    list_select_related = ["created_by"]
    autocomplete_fields = ["segments", "products"]
    readonly_fields = [
        "audience_summary", "status_badge", "status_changed", "history", "created_by", "created_at", "updated_at",
        "sending",
    ]
    fieldsets = [
        ("Brief", {"fields": ["name", "goal", "channel", "brief", "brand_voice", "tone", "language"]}),
        ("Audience", {"fields": ["segments", "audience_filters", "audience_summary"]}),
        ("Products", {"fields": ["products", "recommend_products"]}),
        ("Offer and rules", {"fields": ["offer", "banned_words", "required_text", "landing_url", "attribution_days"]}),
        ("Brand template", {"fields": ["greeting", "sign_off"],
                            "description": "What every email says around the model's text, word for word."}),
        ("Generation", {"fields": ["variants_per_group", "personalise_per_customer"]}),
        ("Sending", {"fields": ["send_timing", "sending"]}),
        (
            "Status and history",
            {"fields": ["status_badge", "status_changed", "history", "created_by", "created_at", "updated_at"]},
        ),
    ]
    # no bulk "start": a send is confirmed one campaign at a time, with its number of recipients
    actions = ["generate_copy", "submit_for_review", "approve_campaigns", "finish_campaigns"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _variants=Count("variants", distinct=True),
                _approved=Count("variants", filter=Q(variants__status=Variant.Status.APPROVED), distinct=True),
            )
        )

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user  # type: ignore[assignment]
        before = {f: form.initial.get(f) for f in AUDITED_SETTINGS if change and f in form.changed_data}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_settings(obj, before, request.user, request)

    @admin.display(description="sending")
    def sending(self, campaign: Campaign) -> SafeString | str:
        """Messages by status, and for a best-hour send how many were scheduled in each hour (sent / waiting)."""
        if campaign.pk is None:
            return "-"
        progress = sending_progress(campaign)
        if not progress["total"]:
            when = "at each customer's best hour" if campaign.send_timing == Campaign.SendTiming.BEST_HOUR else "now"
            return f"Nothing sent yet; a send will go out {when}."
        queued, waiting = progress["queued"], progress["waiting"]
        if progress["done"]:
            state = "all sent"
        elif campaign.status == Status.FINISHED:
            state = f"{queued:,} never sent: the campaign finished before their hour"
        else:
            state = f"{waiting:,} waiting for their hour, {queued - waiting:,} due"
        return format_html(
            "<p><strong>{}</strong> of {} messages sent, {} skipped, {} failed · {}</p>{}",
            f"{progress['sent']:,}", f"{progress['total']:,}", f"{progress['skipped']:,}", f"{progress['failed']:,}",
            state, scheduled_hours_svg(progress["hours"]) if progress["hours"] else "",
        )

    # -- read-only fields and columns --
    @admin.display(description="last change")
    def status_changed(self, campaign: Campaign) -> str:
        if campaign.status_changed_at is None:
            return "-"
        who = campaign.status_changed_by or "the system"
        return f"{campaign.status_changed_at:%Y-%m-%d %H:%M} by {who}"

    @admin.display(description="variants approved / total", ordering="_variants")
    def variants_progress(self, campaign: Campaign) -> str:
        total = getattr(campaign, "_variants", None)
        approved = getattr(campaign, "_approved", None)
        if total is None:
            total = campaign.variants.count()
            approved = campaign.variants.filter(status=Variant.Status.APPROVED).count()
        return f"{approved} / {total}" if total else "-"

    @admin.display(description="")
    def pages(self, campaign: Campaign) -> SafeString:
        return format_html(
            '<a href="{}">review</a> · <a href="{}">preview</a> · <a href="{}">results</a>',
            reverse("admin:campaigns_campaign_review", args=[campaign.pk]),
            reverse("admin:campaigns_campaign_preview", args=[campaign.pk]),
            reverse("admin:campaigns_campaign_results", args=[campaign.pk]),
        )

    @admin.display(description="audience now")
    def audience_summary(self, campaign: Campaign) -> SafeString | str:
        if campaign.pk is None:
            return "Save the campaign to see its audience."
        try:
            size = audience_size(campaign)
        except AudienceError as exc:
            return format_html('<span style="color:#c0392b">{}</span>', exc)
        reach = {"email": "an email address", "sms": "a phone number", "push": "an app id"}.get(campaign.channel, "")
        return format_html(
            '<strong>{}</strong> customers (with marketing consent, not unsubscribed, reachable by {}) · '
            '<a href="{}">preview one</a>',
            f"{size:,}",
            reach,
            reverse("admin:campaigns_campaign_preview", args=[campaign.pk]),
        )

    @admin.display(description="history")
    def history(self, campaign: Campaign) -> SafeString | str:
        if campaign.pk is None:
            return "-"
        rows = list(campaign.transitions.select_related("user"))
        if not rows:
            return "No status change yet."
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{t.at:%Y-%m-%d %H:%M}",
                    t.get_from_status_display(),
                    t.get_to_status_display(),
                    t.user or "the system",
                    t.note,
                )
                for t in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>when</th><th>move</th><th>who</th><th>note</th></tr></thead><tbody>{}</tbody>"
            "</table>",
            body,
        )

    # -- bulk actions: each campaign goes through the same step as its button --

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Campaign], to: str) -> None:
        for campaign in queryset:
            self.apply_transition(request, campaign, to)

    @admin.action(description="Generate copy (starts the generation job)", permissions=["change"])
    def generate_copy(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._bulk(request, queryset, Status.GENERATING)

    @admin.action(description="Submit for review", permissions=["change"])
    def submit_for_review(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._bulk(request, queryset, Status.IN_REVIEW)

    @admin.action(description="Approve (checks the brief and the approved variants)", permissions=["change"])
    def approve_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._bulk(request, queryset, Status.APPROVED)

    @admin.action(description="Finish running campaigns", permissions=["change"])
    def finish_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._bulk(request, queryset, Status.FINISHED)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        campaign = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if campaign is not None:
            extra.update(self._page_context(request, campaign))
            extra["workflow_buttons"] = self.workflow_buttons(request, campaign)
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[URLPattern]:
        def view(func: Callable[..., HttpResponse], suffix: str) -> URLPattern:
            name = f"campaigns_campaign_{suffix}"
            return path(f"<int:object_id>/{suffix}/", self.admin_site.admin_view(func), name=name)

        return [
            view(self.transition_view, "transition"),
            view(self.test_send_view, "test-send"),
            view(self.review_view, "review"),
            view(self.preview_view, "preview"),
            view(self.results_view, "results"),
            view(self.discounts_view, "discounts"),
            *super().get_urls(),
        ]
