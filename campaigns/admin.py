"""The campaign manager's admin: the brief, the workflow buttons, side-by-side review of the copy, a preview
as one customer would get it, and the experiment's results with charts.

Views only translate: every status change goes through `campaigns.workflow` (`check_transition` /
`do_transition`, `do_approve_variant` / `do_reject_variant` / `do_edit_variant`), jobs through
`jobs.runner.start_job`, statistics come from `campaigns.experiments`. A refusal is shown with the
module's own message (messages framework); analysts (view permission only) see every page without buttons.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from customers.models import Customer
from jobs.runner import UnknownJobKind, start_job

from . import charts, experiments
from .audience import AudienceError, audience_queryset, audience_sample, audience_size, validate_audience_filters
from .experiments import ExperimentError
from .generation import GenerationRefused, check_can_generate
from .models import Arm, Assignment, Campaign, Experiment, Message, Variant
from .personalisation import render
from .workflow import (
    ALLOWED,
    CHANNEL_LIMITS,
    REVIEWABLE_CAMPAIGN,
    ReviewError,
    TransitionError,
    check_permission,
    check_transition,
    do_approve_variant,
    do_edit_variant,
    do_reject_variant,
    do_transition,
)

Status = Campaign.Status

STATUS_COLOURS: dict[str, str] = {
    Status.DRAFT: "#777",
    Status.GENERATING: "#8e6c00",
    Status.IN_REVIEW: "#0072b2",
    Status.APPROVED: "#2e7d32",
    Status.RUNNING: "#6a1b9a",
    Status.FINISHED: "#37474f",
}
VARIANT_COLOURS: dict[str, str] = {
    Variant.Status.IN_REVIEW: "#0072b2",
    Variant.Status.FLAGGED: "#c0392b",
    Variant.Status.APPROVED: "#2e7d32",
    Variant.Status.REJECTED: "#777",
}
MESSAGE_COLOURS: dict[str, str] = {
    Message.Status.QUEUED: "#8e6c00",
    Message.Status.SENT: "#2e7d32",
    Message.Status.FAILED: "#c0392b",
    Message.Status.SKIPPED: "#777",
}
# What each allowed move is called on its button; a move to finished from anything but running is a cancel.
TRANSITION_LABELS: dict[tuple[str, str], str] = {
    (Status.DRAFT, Status.GENERATING): "Generate copy",
    (Status.DRAFT, Status.IN_REVIEW): "Submit for review",
    (Status.GENERATING, Status.IN_REVIEW): "Submit for review",
    (Status.GENERATING, Status.DRAFT): "Back to draft",
    (Status.IN_REVIEW, Status.APPROVED): "Approve",
    (Status.IN_REVIEW, Status.DRAFT): "Back to draft (regenerate)",
    (Status.APPROVED, Status.RUNNING): "Start (send)",
    (Status.APPROVED, Status.IN_REVIEW): "Reopen review",
    (Status.RUNNING, Status.FINISHED): "Finish",
}
GENERATE_JOB = "generate_campaign"
SEND_JOB = "send_campaign"
PREVIEW_CUSTOMERS = 12


def transition_label(current: str, to: str) -> str:
    return TRANSITION_LABELS.get((current, to), "Cancel campaign" if to == Status.FINISHED else f"Move to {to}")


def badge(label: str, colour: str) -> SafeString:
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:10px;background:{};color:#fff;'
        'font-size:11px;white-space:nowrap">{}</span>',
        colour,
        label,
    )


def _percent(value: Any, digits: int = 1) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{value * 100:.{digits}f}%"


def _probability(value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{value:.3f}" if 0.001 <= value <= 0.999 else ("<0.001" if value < 0.001 else ">0.999")


def _p_value(value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


# --- Campaign --------------------------------------------------------------------------------------------


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
            "products", "recommend_products", "offer", "banned_words", "required_text", "landing_url",
            "attribution_days", "variants_per_group", "personalise_per_customer",
        ]
        widgets = {
            "brief": forms.Textarea(attrs={"rows": 4, "cols": 80}),
            "brand_voice": forms.Textarea(attrs={"rows": 3, "cols": 80}),
            "required_text": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "audience_filters": forms.Textarea(attrs={"rows": 3, "cols": 60}),
        }
        help_texts = {
            "audience_filters": (
                'JSON, all optional: {"lifecycle": ["at_risk"], "locale": "en", "country": "GB", "min_orders": 1, '
                '"max_orders": 5, "min_revenue": 50, "min_purchase_probability": 0.2, "min_churn_risk": 0.5, '
                '"max_churn_risk": 0.9}'
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
class CampaignAdmin(admin.ModelAdmin[Campaign]):
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
    ]
    fieldsets = [
        ("Brief", {"fields": ["name", "goal", "channel", "brief", "brand_voice", "tone", "language"]}),
        ("Audience", {"fields": ["segments", "audience_filters", "audience_summary"]}),
        ("Products", {"fields": ["products", "recommend_products"]}),
        ("Offer and rules", {"fields": ["offer", "banned_words", "required_text", "landing_url", "attribution_days"]}),
        ("Generation", {"fields": ["variants_per_group", "personalise_per_customer"]}),
        (
            "Status and history",
            {"fields": ["status_badge", "status_changed", "history", "created_by", "created_at", "updated_at"]},
        ),
    ]
    actions = ["generate_copy", "submit_for_review", "approve_campaigns", "start_campaigns", "finish_campaigns"]

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
        super().save_model(request, obj, form, change)

    # -- read-only fields and columns --

    @admin.display(description="status", ordering="status")
    def status_badge(self, campaign: Campaign) -> SafeString:
        return badge(campaign.get_status_display(), STATUS_COLOURS.get(campaign.status, "#777"))

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

    # -- workflow --

    def workflow_buttons(self, request: HttpRequest, campaign: Campaign) -> list[dict[str, Any]]:
        """The moves allowed from the current status, each with why it would be refused now (if it would)."""
        if not self.has_change_permission(request, campaign):
            return []
        buttons = []
        for to in sorted(ALLOWED.get(campaign.status, set()), key=lambda s: Status.values.index(s)):
            try:
                check_transition(campaign, to, request.user)
                blocked = ""
            except (TransitionError, PermissionDenied) as exc:
                blocked = str(exc)
            cancel = to == Status.FINISHED and campaign.status != Status.RUNNING
            buttons.append({
                "to": to,
                "label": transition_label(campaign.status, to),
                "blocked": blocked,
                "needs_note": cancel,
                "danger": cancel or to == Status.DRAFT,
            })
        if campaign.status == Status.IN_REVIEW:
            # in review -> generating is no edge of its own: the move goes through draft (see _start_generation)
            buttons.insert(0, {
                "to": Status.GENERATING,
                "label": "Regenerate unapproved copy",
                "blocked": "",
                "needs_note": False,
                "danger": False,
            })
        return buttons

    def apply_transition(self, request: HttpRequest, campaign: Campaign, to: str, note: str = "") -> bool:
        """Make one move through the workflow; "generating" and "running" also start their jobs."""
        try:
            if to == Status.GENERATING:
                job_id = self._start_generation(request, campaign, note)
                done = format_html('{}: copy generation started (<a href="{}">job {}</a>).', campaign,
                                   reverse("admin:jobs_job_change", args=[job_id]), job_id)
            elif to == Status.RUNNING:
                job_id = self._start_sending(request, campaign, note)
                done = format_html('{}: started; sending (<a href="{}">job {}</a>).', campaign,
                                   reverse("admin:jobs_job_change", args=[job_id]), job_id)
            else:
                do_transition(campaign, to, request.user, note)
                done = format_html("{}: {}.", campaign, Status(to).label.lower())
        except (TransitionError, PermissionDenied, UnknownJobKind, ExperimentError, GenerationRefused) as exc:
            self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            return False
        self.message_user(request, done, messages.SUCCESS)
        return True

    @staticmethod
    def _start_generation(request: HttpRequest, campaign: Campaign, note: str) -> int:
        """Move to generating as the manager and queue the `generate_campaign` job (which ends in review).

        From in review the move goes through draft and the job regenerates every unapproved variant
        (`force`); approved ones stay. One transaction: if the job cannot be queued, nothing moves."""
        check_can_generate(campaign)
        regenerate = campaign.status == Status.IN_REVIEW
        if regenerate:
            check_permission(request.user)
        with transaction.atomic():
            if regenerate:
                do_transition(campaign, Status.DRAFT, request.user, note or "regenerate unapproved copy")
            do_transition(campaign, Status.GENERATING, request.user, note)
            params: dict[str, Any] = {"campaign_id": campaign.pk}
            if regenerate:
                params["force"] = True
            job = start_job(GENERATE_JOB, params, user=request.user)
        return job.pk

    @staticmethod
    def _start_sending(request: HttpRequest, campaign: Campaign, note: str) -> int:
        """Create the experiment if needed (arms = approved variants + holdout), move to running as the manager
        and queue the `send_campaign` job. One transaction: a refused move leaves no experiment behind."""
        with transaction.atomic():
            if campaign.status == Status.APPROVED:
                experiments.create_experiment(campaign)
            do_transition(campaign, Status.RUNNING, request.user, note)
            job = start_job(SEND_JOB, {"campaign_id": campaign.pk}, user=request.user)
        return job.pk

    def transition_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=object_id)
        change_url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        to = request.POST.get("to", "")
        if to not in Status.values:
            self.message_user(request, f"Unknown status {to!r}.", messages.ERROR)
        else:
            self.apply_transition(request, campaign, to, request.POST.get("note", "").strip())
        next_url = request.POST.get("next", "")
        own = next_url.startswith(reverse("admin:campaigns_campaign_changelist"))
        return HttpResponseRedirect(next_url if own else change_url)

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

    @admin.action(description="Start (create the experiment and send)", permissions=["change"])
    def start_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._bulk(request, queryset, Status.RUNNING)

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

    # -- custom pages --

    def get_urls(self) -> list[URLPattern]:
        def view(func: Callable[..., HttpResponse], suffix: str) -> URLPattern:
            name = f"campaigns_campaign_{suffix}"
            return path(f"<int:object_id>/{suffix}/", self.admin_site.admin_view(func), name=name)

        return [
            view(self.transition_view, "transition"),
            view(self.review_view, "review"),
            view(self.preview_view, "preview"),
            view(self.results_view, "results"),
            *super().get_urls(),
        ]

    def _viewable(self, request: HttpRequest, object_id: int) -> Campaign:
        campaign = get_object_or_404(Campaign, pk=object_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def _page_context(self, request: HttpRequest, campaign: Campaign, page: str = "change") -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "original": campaign,
            "page": page,
            "status_badge": self.status_badge(campaign),
            "can_change": self.has_change_permission(request, campaign),
            "tabs": [
                ("change", "Brief", reverse("admin:campaigns_campaign_change", args=[campaign.pk])),
                ("review", "Review", reverse("admin:campaigns_campaign_review", args=[campaign.pk])),
                ("preview", "Preview", reverse("admin:campaigns_campaign_preview", args=[campaign.pk])),
                ("results", "Results", reverse("admin:campaigns_campaign_results", args=[campaign.pk])),
            ],
        }

    def review_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Variants side by side per segment x product (or customer); approve, reject with a reason, edit."""
        campaign = self._viewable(request, object_id)
        url = reverse("admin:campaigns_campaign_review", args=[campaign.pk])
        if request.method == "POST":
            if not self.has_change_permission(request, campaign):
                raise PermissionDenied
            variant = get_object_or_404(Variant, pk=request.POST.get("variant") or 0, campaign=campaign)
            self._review_action(request, variant, request.POST)
            return HttpResponseRedirect(f"{url}#variant-{variant.pk}")
        variants = list(
            campaign.variants.select_related(
                "segment", "product", "customer", "model_version", "reviewed_by", "edited_by"
            )
        )
        counts = {status: 0 for status in Variant.Status.values}
        for variant in variants:
            counts[variant.status] += 1
        shown = request.GET.get("status", "")
        if shown in Variant.Status.values:
            variants = [v for v in variants if v.status == shown]
        can_act = self.has_change_permission(request, campaign) and campaign.status in REVIEWABLE_CAMPAIGN
        context = {
            **self._page_context(request, campaign, "review"),
            "title": f"Review copy: {campaign}",
            "groups": _group_variants(campaign, variants),
            "counts": [(Variant.Status(s).label, s, n, VARIANT_COLOURS[s]) for s, n in counts.items()],
            "shown_status": shown,
            "can_act": can_act,
            "reviewable": campaign.status in REVIEWABLE_CAMPAIGN,
            "limits": CHANNEL_LIMITS.get(campaign.channel, {}),
            "workflow_buttons": self.workflow_buttons(request, campaign),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/review.html", context)

    def _review_action(self, request: HttpRequest, variant: Variant, data: Any) -> None:
        action = data.get("action", "")
        try:
            if action == "approve":
                do_approve_variant(variant, request.user)
                self.message_user(request, f"Variant {variant.label} approved.", messages.SUCCESS)
            elif action == "reject":
                do_reject_variant(variant, request.user, data.get("reason", ""))
                self.message_user(request, f"Variant {variant.label} rejected.", messages.SUCCESS)
            elif action == "edit":
                fields = {f: data[f].replace("\r\n", "\n") for f in ("subject", "preheader", "body") if f in data}
                do_edit_variant(variant, request.user, **fields)
                if variant.status == Variant.Status.FLAGGED:
                    failed = "; ".join(_failures(variant))
                    text = f"Variant {variant.label} saved but flagged by the guardrails: {failed}"
                    self.message_user(request, text, messages.WARNING)
                else:
                    text = f"Variant {variant.label} saved; it needs a new approval."
                    self.message_user(request, text, messages.SUCCESS)
            else:
                self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
        except (ReviewError, PermissionDenied) as exc:
            self.message_user(request, f"Variant {variant.label}: {exc}", messages.ERROR)

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The message as one customer of the audience would get it, for a chosen variant."""
        campaign = self._viewable(request, object_id)
        if not request.user.has_perm("customers.view_customer"):
            raise PermissionDenied
        variants = sorted(
            campaign.variants.select_related("segment", "product"),
            key=lambda v: (v.status != Variant.Status.APPROVED, v.segment_id or 0, v.product_id or 0, v.label),
        )
        variant = _pick(variants, request.GET.get("variant"))
        query = request.GET.get("q", "").strip()
        audience_error = ""
        candidates: list[Customer] = []
        try:
            if query:
                candidates = list(
                    audience_queryset(campaign).filter(
                        Q(name__icontains=query) | Q(email__icontains=query) | Q(external_id__icontains=query)
                    )[:PREVIEW_CUSTOMERS]
                )
            else:
                candidates = audience_sample(campaign, PREVIEW_CUSTOMERS)
        except AudienceError as exc:
            audience_error = str(exc)
        customer: Customer | None = None
        customer_id = request.GET.get("customer", "")
        if customer_id.isdigit():
            customer = Customer.objects.filter(pk=int(customer_id)).first()
        elif candidates:
            customer = candidates[0]
        in_audience = None
        if customer is not None and not audience_error:
            in_audience = audience_queryset(campaign).filter(pk=customer.pk).exists()
            if customer not in candidates:
                candidates.insert(0, customer)
        rendered, render_error = None, ""
        if variant is not None and customer is not None:
            try:
                rendered = render(variant, customer)
            except ValueError as exc:
                render_error = str(exc)
        limit = CHANNEL_LIMITS.get(campaign.channel, {}).get("body")
        context = {
            **self._page_context(request, campaign, "preview"),
            "title": f"Preview: {campaign}",
            "variants": variants,
            "variant": variant,
            "customer": customer,
            "candidates": candidates,
            "query": query,
            "audience_error": audience_error,
            "in_audience": in_audience,
            "rendered": rendered,
            "render_error": render_error,
            "is_email": campaign.channel == Campaign.Channel.EMAIL,
            "body_limit": limit,
            "body_length": len(rendered.body) if rendered else 0,
            "subject_limit": CHANNEL_LIMITS.get(campaign.channel, {}).get("subject"),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)

    def results_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Per metric: arms with rates, intervals, lifts, p-values, Bayesian probabilities; SRM; the verdict;
        the override form; cumulative rates over time with interval bands."""
        campaign = self._viewable(request, object_id)
        url = reverse("admin:campaigns_campaign_results", args=[campaign.pk])
        experiment = (
            Experiment.objects.filter(campaign=campaign).select_related("winner", "winner_overridden_by").first()
        )
        if request.method == "POST":
            if not request.user.has_perm(experiments.CHANGE_PERMISSION):
                raise PermissionDenied
            self._results_action(request, campaign, experiment, request.POST)
            return HttpResponseRedirect(url)
        context: dict[str, Any] = {
            **self._page_context(request, campaign, "results"),
            "title": f"Results: {campaign}",
            "experiment": experiment,
            "can_decide": request.user.has_perm(experiments.CHANGE_PERMISSION),
            "approved_variants": campaign.variants.filter(status=Variant.Status.APPROVED).count(),
        }
        if experiment is not None:
            context.update(_results_context(experiment, experiments.analyse(experiment)))
        return TemplateResponse(request, "admin/campaigns/campaign/results.html", context)

    def _results_action(
        self, request: HttpRequest, campaign: Campaign, experiment: Experiment | None, data: Any
    ) -> None:
        """Create the experiment, apply the winner rule, or override the winner (arm + note; no arm = withdraw)."""
        action = data.get("action", "")
        try:
            if action == "create":
                experiment = experiments.create_experiment(campaign)
                text = f"Experiment created with {experiment.arms.count()} arm(s)."
                self.message_user(request, text, messages.SUCCESS)
            elif experiment is None:
                self.message_user(request, "The campaign has no experiment yet.", messages.ERROR)
            elif action == "rule":
                result = experiments.choose_winner(experiment)
                extra = " (a manager's override stays in place)" if result["overridden"] else ""
                self.message_user(request, f"Winner rule: {result['reason']}{extra}.", messages.INFO)
            elif action == "override":
                self._override(request, experiment, data)
            else:
                self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
        except (ValueError, PermissionDenied) as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def _override(self, request: HttpRequest, experiment: Experiment, data: Any) -> None:
        note = (data.get("note") or "").strip()
        arm_id = data.get("arm") or ""
        if not arm_id:
            experiments.override_winner(experiment, None, request.user, note)
            self.message_user(request, "Override withdrawn: the winner rule decides again.", messages.SUCCESS)
            return
        arm = Arm.objects.filter(experiment=experiment, pk=arm_id if str(arm_id).isdigit() else 0).first()
        if arm is None:
            self.message_user(request, "Choose one of the experiment's arms.", messages.ERROR)
            return
        if not note:
            self.message_user(request, "An override needs a note saying why.", messages.ERROR)
            return
        experiments.override_winner(experiment, arm, request.user, note)
        self.message_user(request, f"Winner set to {arm.key} by {request.user}.", messages.SUCCESS)


def _pick(variants: list[Variant], wanted: str | None) -> Variant | None:
    if wanted and wanted.isdigit():
        for variant in variants:
            if variant.pk == int(wanted):
                return variant
    return variants[0] if variants else None


def _failures(variant: Variant) -> list[str]:
    return [
        f"{g.get('check', '?')}: {g.get('detail', '')}".rstrip(": ")
        for g in variant.guardrails
        if isinstance(g, dict) and not g.get("passed", False)
    ]


def _group_variants(campaign: Campaign, variants: Iterable[Variant]) -> list[dict[str, Any]]:
    """Variants grouped by segment x product (per-customer copy in its own groups), each with its guardrails
    split into failures (shown) and passes (collapsed) and its character counts."""
    limits = CHANNEL_LIMITS.get(campaign.channel, {})
    groups: dict[tuple[int, int, int], dict[str, Any]] = {}
    for variant in variants:
        key = (variant.segment_id or 0, variant.product_id or 0, variant.customer_id or 0)
        if key not in groups:
            parts = [
                f"Segment: {variant.segment}" if variant.segment else "All segments",
                f"Product: {variant.product}" if variant.product else "No product",
            ]
            if variant.customer:
                parts.append(f"Customer: {variant.customer.name or variant.customer.external_id}")
            groups[key] = {"title": " × ".join(parts), "product": variant.product, "variants": []}
        checks = [g for g in variant.guardrails if isinstance(g, dict)]
        lengths = [
            (field, len(getattr(variant, field)), limit, len(getattr(variant, field)) > limit)
            for field, limit in limits.items()
        ]
        groups[key]["variants"].append({
            "variant": variant,
            "colour": VARIANT_COLOURS.get(variant.status, "#777"),
            "failed": [g for g in checks if not g.get("passed", False)],
            "passed": [g for g in checks if g.get("passed", False)],
            "lengths": lengths,
            "edited": bool(variant.generated_body and variant.generated_body != variant.body),
        })
    return list(groups.values())


# --- results -------------------------------------------------------------------------------------------


def _results_context(experiment: Experiment, analysis: dict[str, Any]) -> dict[str, Any]:
    """Display rows from `experiments.analyse` (plain JSON: undefined numbers are None) and one chart per metric."""
    arms = list(experiment.arms.select_related("variant").order_by("key"))
    colours = {arm.key: charts.arm_colour(i, arm.is_holdout) for i, arm in enumerate(arms)}
    metrics = []
    for key, result in analysis["metrics"].items():
        rows = result["arms"]
        scale = max([r["ci"][1] for r in rows if r["ci"][1] is not None] or [0.0])
        table = []
        for row in rows:
            low, high = row["ci"]
            colour = colours.get(row["key"], "#777")
            lift_low, lift_high = row["lift_abs_ci"] or (None, None)
            table.append({
                "key": row["key"],
                "colour": colour,
                "is_control": row["is_control"],
                "is_holdout": row["is_holdout"],
                "n": row["n"],
                "successes": row["successes"],
                "rate": _percent(row["rate"], 2),
                "interval": f"{_percent(low, 2)} – {_percent(high, 2)}" if low is not None else "–",
                "bar": charts.interval_bar(_nan(row["rate"]), _nan(low), _nan(high), scale, colour),
                "lift_abs": _signed(row["lift_abs"]),
                "lift_abs_ci": f"{_signed(lift_low)} … {_signed(lift_high)}" if lift_low is not None else "",
                "lift_rel": _signed(row["lift_rel"]),
                "p_value": _p_value(row["p_value"]),
                "p_adjusted": _p_value(row["p_adjusted"]),
                "prob_beat_control": _probability(row["prob_beat_control"]),
                "prob_best": _probability(row["prob_best"]),
                "still_needed": row["still_needed"],
                "revenue": row.get("revenue"),
            })
        over_time = experiments.outcomes_over_time(experiment, key)
        label = Experiment.Metric(key).label if key in Experiment.Metric.values else key
        metrics.append({
            "key": key,
            "label": label,
            "primary": key == experiment.primary_metric,
            "control": result["control"],
            "excluded": result["excluded"],
            "rows": table,
            "winner": result["verdict"]["winner"],
            "reason": result["verdict"]["reason"],
            "sample_size": result["sample_size"],
            "bayes_method": result["bayes_method"],
            "conversion": key == "conversion",
            "chart": charts.rate_over_time_svg(_series(over_time), title=f"Cumulative {label.lower()} by day"),
        })
    metrics.sort(key=lambda m: not m["primary"])
    return {
        "metrics": metrics,
        "srm": analysis["srm"],
        "outcomes": analysis["outcomes"],
        "arms": arms,
        "winner": experiment.winner,
        "overridden": experiment.winner_overridden_by_id is not None,
    }


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _signed(value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{'+' if value > 0 else ''}{value * 100:.2f}%"


def _series(over_time: dict[str, Any]) -> list[charts.Series]:
    """`experiments.outcomes_over_time` as chart series (days before anyone was assigned are left out)."""
    series = []
    for arm in over_time["arms"]:
        points = [
            charts.Point(date.fromisoformat(p["date"]), p["rate"], _nan(p["low"]), _nan(p["high"]))
            for p in arm["points"]
            if p["rate"] is not None
        ]
        series.append(charts.Series(key=arm["key"], points=points, holdout=arm["is_holdout"]))
    return series


# --- variants, messages, experiments --------------------------------------------------------------------


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin[Variant]):
    """Read-only trace of each piece of copy; approving, rejecting and editing happen on the review page."""

    list_display = [
        "campaign", "label", "status_badge", "segment", "product", "short_copy", "attempts", "relevance_score",
        "model_name", "created_at",
    ]
    list_filter = ["status", "campaign"]
    search_fields = ["label", "subject", "body", "campaign__name"]
    list_select_related = ["campaign", "segment", "product"]
    fieldsets = [
        (None, {"fields": ["campaign", "label", "status_badge", "review_link", "segment", "product", "customer"]}),
        ("Copy", {"fields": ["subject", "preheader", "body", "language"]}),
        ("Review", {"fields": ["reviewed_by", "reviewed_at", "rejection_reason", "edited_by", "generated_body"]}),
        ("Generation trace", {"fields": ["guardrail_results", "attempts", "relevance", "model_name", "model_version",
                                         "prompt", "created_at"]}),
    ]
    readonly_fields = [
        "campaign", "label", "status_badge", "review_link", "segment", "product", "customer", "subject", "preheader",
        "body", "language", "reviewed_by", "reviewed_at", "rejection_reason", "edited_by", "generated_body",
        "guardrail_results", "attempts", "relevance", "model_name", "model_version", "prompt", "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Variant | None = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, variant: Variant) -> SafeString:
        return badge(variant.get_status_display(), VARIANT_COLOURS.get(variant.status, "#777"))

    @admin.display(description="copy")
    def short_copy(self, variant: Variant) -> str:
        return Truncator(f"{variant.subject} — {variant.body}" if variant.subject else variant.body).chars(80)

    @admin.display(description="relevance", ordering="relevance")
    def relevance_score(self, variant: Variant) -> str:
        return "-" if variant.relevance is None else f"{variant.relevance:.2f}"

    @admin.display(description="review")
    def review_link(self, variant: Variant) -> SafeString:
        url = reverse("admin:campaigns_campaign_review", args=[variant.campaign_id])
        return format_html('<a href="{}#variant-{}">approve, reject or edit on the review page</a>', url, variant.pk)

    @admin.display(description="guardrails")
    def guardrail_results(self, variant: Variant) -> SafeString | str:
        checks = [g for g in variant.guardrails if isinstance(g, dict)]
        if not checks:
            return "-"
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                '<tr><td style="color:{}">{}</td><td>{}</td><td>{}</td></tr>',
                (
                    ("#2e7d32" if g.get("passed") else "#c0392b", "pass" if g.get("passed") else "FAIL",
                     g.get("check", "?"), g.get("detail", ""))
                    for g in sorted(checks, key=lambda g: bool(g.get("passed")))
                ),
            ),
        )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ["campaign", "customer", "channel", "status_badge", "arm", "variant", "recipient", "sent_at"]
    list_filter = ["status", "channel", "campaign"]
    search_fields = ["recipient", "customer__external_id", "customer__email", "provider_id", "campaign__name"]
    list_select_related = ["campaign", "customer", "arm", "variant"]
    show_full_result_count = False  # one row per customer per campaign: skip the second COUNT(*)
    readonly_fields = [f.name for f in Message._meta.fields] + ["status_badge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, message: Message) -> SafeString:
        return badge(message.get_status_display(), MESSAGE_COLOURS.get(message.status, "#777"))


class ArmInline(admin.TabularInline[Arm, Experiment]):
    model = Arm
    fields = ["key", "variant", "weight", "is_control", "assigned"]
    readonly_fields = ["assigned"]
    autocomplete_fields = ["variant"]
    extra = 0

    @admin.display(description="customers assigned")
    def assigned(self, arm: Arm) -> int:
        return arm.assignments.count() if arm.pk else 0


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin[Experiment]):
    list_display = ["campaign", "primary_metric", "allocation", "winner", "started_at", "finished_at", "results_link"]
    list_filter = ["allocation", "primary_metric"]
    search_fields = ["campaign__name"]
    list_select_related = ["campaign", "winner"]
    autocomplete_fields = ["campaign"]
    fieldsets = [
        (None, {"fields": ["campaign", "results_link"]}),
        ("Design", {"fields": ["primary_metric", "allocation", "reweight_hours", "holdout_weight"]}),
        ("Winner rule", {"fields": ["alpha", "minimum_sample", "minimum_detectable_effect", "power"]}),
        ("Outcome", {"fields": ["winner", "winner_overridden_by", "winner_note", "started_at",
                                "last_reweighted_at", "finished_at"]}),
    ]
    readonly_fields = [
        "results_link", "winner", "winner_overridden_by", "winner_note", "started_at", "last_reweighted_at",
        "finished_at",
    ]
    inlines = [ArmInline]

    @admin.display(description="results")
    def results_link(self, experiment: Experiment) -> SafeString | str:
        if experiment.campaign_id is None:
            return "-"
        url = reverse("admin:campaigns_campaign_results", args=[experiment.campaign_id])
        return format_html('<a href="{}">results and charts</a> (the winner is overridden there)', url)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin[Assignment]):
    list_display = ["experiment", "arm", "customer", "assigned_at"]
    list_filter = ["arm__experiment", "arm__key"]
    search_fields = ["customer__external_id", "customer__email"]
    list_select_related = ["experiment__campaign", "arm", "customer"]
    show_full_result_count = False
    readonly_fields = ["experiment", "arm", "customer", "assigned_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Assignment | None = None) -> bool:
        return False

