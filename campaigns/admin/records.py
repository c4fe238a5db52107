"""The records a campaign leaves, mostly read-only: its copy variants (with their generation trace), the
messages sent, the experiment with its arms, and the assignments of customers to arms. Approving,
rejecting and editing copy happen on the campaign's review page; the winner is chosen on its results page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from core.large_lists import LargeListAdmin

from .. import charts
from ..models import Arm, Assignment, Experiment, Message, UpliftModel, Variant
from .formatting import MESSAGE_COLOURS, VARIANT_COLOURS, badge


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
        ("Generation trace", {"fields": ["guardrail_results", "part_candidates", "attempts", "relevance", "model_name",
                                         "model_version", "prompt", "created_at"]}),
    ]
    readonly_fields = [
        "campaign", "label", "status_badge", "review_link", "segment", "product", "customer", "subject", "preheader",
        "body", "language", "reviewed_by", "reviewed_at", "rejection_reason", "edited_by", "generated_body",
        "guardrail_results", "part_candidates", "attempts", "relevance", "model_name", "model_version", "prompt",
        "created_at",
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


    @admin.display(description="parts (best of n)")
    def part_candidates(self, variant: Variant) -> SafeString | str:
        """Each part's sampled candidates, the chosen one marked, with its score or why it lost."""
        parts = {name: part for name, part in (variant.parts or {}).items() if isinstance(part, dict)}
        if not parts:
            return "-"
        rows = []
        for name, part in parts.items():
            for index, candidate in enumerate(part.get("candidates") or []):
                if not isinstance(candidate, dict):
                    continue
                chosen = index == part.get("chosen")
                why = "; ".join(map(str, candidate.get("failed") or [])) or f"score {candidate.get('score', '-')}"
                rows.append((name, "chosen" if chosen else "", candidate.get("text", ""), why))
        return format_html(
            "<table><tr><th>part</th><th></th><th>candidate</th><th>score or failed checks</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td></tr>", rows),
        )


@admin.register(Message)
class MessageAdmin(LargeListAdmin, admin.ModelAdmin[Message]):
    list_display = [
        "campaign", "customer", "channel", "status_badge", "arm", "variant", "recipient", "scheduled_for", "sent_at",
    ]
    list_filter = ["status", "channel", "campaign"]
    search_fields = ["customer__external_id__exact", "customer__email__exact"]  # indexed: no scan of every message
    search_help_text = "A customer's exact id or email."
    list_select_related = ["campaign", "customer", "arm", "variant"]
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
    fields = ["key", "variant", "weight", "is_control", "discount_percent", "assigned"]
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
        ("Uplift model", {"fields": ["uplift_curve"]}),
    ]
    readonly_fields = [
        "results_link", "winner", "winner_overridden_by", "winner_note", "started_at", "last_reweighted_at",
        "finished_at", "uplift_curve",
    ]
    inlines = [ArmInline]

    @admin.display(description="results")
    def results_link(self, experiment: Experiment) -> SafeString | str:
        if experiment.campaign_id is None:
            return "-"
        url = reverse("admin:campaigns_campaign_results", args=[experiment.campaign_id])
        return format_html('<a href="{}">results and charts</a> (the winner is overridden there)', url)

    @admin.display(description="Qini curve")
    def uplift_curve(self, experiment: Experiment) -> SafeString | str:
        """The latest uplift model's Qini curve (its top-k table and the training button are on the results page)."""
        latest = UpliftModel.objects.filter(experiment_id=experiment.pk).select_related("version").first()
        if experiment.pk is None or latest is None:
            return "no uplift model yet (train one from the results page)"
        m = latest.version.metrics
        chart = charts.qini_svg(m.get("qini_curve") or [], qini=m.get("qini_coefficient"), auuc=m.get("auuc"),
                                title=f"Qini curve of {latest.version.name} (held-out part)")
        return format_html("{}<br>{} · held-out: {} offered, {} control", chart, latest.version.name,
                           m.get("n_treated"), m.get("n_control"))


class ExperimentFilter(admin.SimpleListFilter):
    """The experiments by their campaign's name in one query (the default filter read each campaign alone)."""

    title = "experiment"
    parameter_name = "experiment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), f"Experiment of {name}") for pk, name in
                Experiment.objects.order_by("-pk").values_list("pk", "campaign__name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Assignment]) -> QuerySet[Assignment]:
        value = self.value()
        return queryset.filter(experiment_id=value) if value and value.isdigit() else queryset


@admin.register(Assignment)
class AssignmentAdmin(LargeListAdmin, admin.ModelAdmin[Assignment]):
    list_display = ["experiment", "arm", "customer", "assigned_at"]
    list_filter = [ExperimentFilter, "arm__key"]
    search_fields = ["customer__external_id__exact", "customer__email__exact"]
    search_help_text = "A customer's exact id or email."
    list_select_related = ["experiment__campaign", "arm", "customer"]
    readonly_fields = ["experiment", "arm", "customer", "assigned_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Assignment | None = None) -> bool:
        return False

