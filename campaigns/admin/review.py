"""The review page: a campaign's copy variants side by side per segment x product (per-customer copy in
its own groups), with their guardrail results and character counts; approve, reject with a reason, edit.

Each button is a step of `campaigns.actions` (`do_approve_variant`, `do_reject_variant`,
`do_edit_variant`); a refusal is shown with the step's message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from ..actions import REFUSALS, do_approve_variant, do_edit_variant, do_reject_variant
from ..models import Campaign, Variant
from ..workflow import CHANNEL_LIMITS, REVIEWABLE_CAMPAIGN
from .formatting import VARIANT_COLOURS
from .pages import CampaignPages


def failures(variant: Variant) -> list[str]:
    """The guardrails a variant failed, as "check: detail"."""
    return [
        f"{g.get('check', '?')}: {g.get('detail', '')}".rstrip(": ")
        for g in variant.guardrails
        if isinstance(g, dict) and not g.get("passed", False)
    ]


def group_variants(campaign: Campaign, variants: Iterable[Variant]) -> list[dict[str, Any]]:
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


class ReviewPage(CampaignPages):
    def review_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Variants side by side per segment x product (or customer); approve, reject with a reason, edit."""
        campaign = self._viewable(request, object_id)
        url = reverse("admin:campaigns_campaign_review", args=[campaign.pk])
        if request.method == "POST":
            variant = get_object_or_404(Variant, pk=request.POST.get("variant") or 0, campaign=campaign)
            try:
                self._review_action(request, variant, request.POST)
            except PermissionDenied as exc:
                return self.refused(request, campaign, exc)
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
            "groups": group_variants(campaign, variants),
            "counts": [(Variant.Status(s).label, s, n, VARIANT_COLOURS[s]) for s, n in counts.items()],
            "shown_status": shown,
            "can_act": can_act,
            "reviewable": campaign.status in REVIEWABLE_CAMPAIGN,
            "limits": CHANNEL_LIMITS.get(campaign.channel, {}),
            "workflow_buttons": self.workflow_buttons(request, campaign),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/review.html", context)

    def _review_action(self, request: HttpRequest, variant: Variant, data: Any) -> None:
        """One review step on one variant; PermissionDenied is left to the caller."""
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
                    failed = "; ".join(failures(variant))
                    text = f"Variant {variant.label} saved but flagged by the guardrails: {failed}"
                    self.message_user(request, text, messages.WARNING)
                else:
                    text = f"Variant {variant.label} saved; it needs a new approval."
                    self.message_user(request, text, messages.SUCCESS)
            else:
                self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
        except REFUSALS as exc:
            self.message_user(request, f"Variant {variant.label}: {exc}", messages.ERROR)
