"""The discounts page: per segment, each depth's customers, conversion, revenue and incremental margin per
customer with intervals, the suggested depth or the sample still needed (`campaigns.discounts`), one
chart per segment; and the form that sets the discount each arm offers (`set_discounts`, audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ..actions import CHANGE_EXPERIMENT_PERMISSION
from ..discount_charts import Bar, margin_by_depth_svg
from ..discounts import DiscountError, discount_suggestions, set_discounts
from ..models import Experiment
from .formatting import DASH, percent
from .pages import CampaignPages


def _money(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def _interval(pair: list[float | None]) -> str:
    low, high = pair
    return DASH if low is None or high is None else f"{low:,.2f} … {high:,.2f}"


def discounts_context(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Display rows and a chart per segment from `discount_suggestions` (plain JSON)."""
    segments = []
    for segment in result["segments"]:
        suggestion = segment["suggestion"]
        rows = [
            {
                **row,
                "conversion": percent(row["conversion_rate"], 1),
                "conversion_interval": f"{percent(row['conversion_ci'][0], 1)} – {percent(row['conversion_ci'][1], 1)}"
                if row["conversion_ci"][0] is not None else DASH,
                "revenue": _money(row["revenue_per_customer"]),
                "revenue_interval": _interval(row["revenue_ci"]),
                "margin": _money(row["margin_per_customer"]),
                "incremental": _money(row["incremental_margin"]) if not row["is_reference"] else "reference",
                "incremental_interval": _interval(row["incremental_margin_ci"]) if not row["is_reference"] else "",
                "suggested": suggestion["status"] == "suggested" and suggestion["depth"] == row["depth"],
            }
            for row in segment["rows"]
        ]
        bars = [
            Bar(row["depth"], row["incremental_margin"], row["incremental_margin_ci"][0],
                row["incremental_margin_ci"][1], reference=row["is_reference"], suggested=row["suggested"])
            for row in rows
        ]
        segments.append({
            **segment,
            "rows": rows,
            "chart": margin_by_depth_svg(bars, title=f"{segment['name']} (n = {segment['n']:,})",
                                         currency=result["currency"]),
        })
    return segments


class DiscountsPage(CampaignPages):
    def discounts_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The per-segment discount table with its evidence and charts; managers set each arm's discount."""
        campaign = self._viewable(request, object_id)
        url = reverse("admin:campaigns_campaign_discounts", args=[campaign.pk])
        experiment = Experiment.objects.filter(campaign=campaign).first()
        can_decide = request.user.has_perm(CHANGE_EXPERIMENT_PERMISSION)
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            if experiment is not None:
                keys = [arm.key for arm in experiment.arms.all()]
                values = {key: request.POST.get(f"discount-{key}", "") for key in keys}
                try:
                    stored = set_discounts(experiment, values, request.user)
                except DiscountError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    listing = ", ".join(f"{k} {'–' if v is None else v + '%'}" for k, v in stored.items())
                    self.message_user(request, f"Discounts saved: {listing}.", messages.SUCCESS)
            return HttpResponseRedirect(url)
        context: dict[str, Any] = {
            **self._page_context(request, campaign, "discounts"),
            "title": f"Discounts: {campaign}",
            "experiment": experiment,
            "can_decide": can_decide,
        }
        if experiment is not None:
            context["arms"] = list(experiment.arms.order_by("key"))
            try:
                result = discount_suggestions(experiment)
            except DiscountError as exc:
                context["unavailable"] = str(exc)
            else:
                context["result"] = result
                context["level"] = percent(result["confidence"], 0)
                context["cost_share"] = percent(result["gross_margin"]["revenue_with_product_cost"], 0)
                context["segments"] = discounts_context(result)
        return TemplateResponse(request, "admin/campaigns/campaign/discounts.html", context)
