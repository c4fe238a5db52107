"""`{% dashboard %}`: the dashboard block of the admin home, from the cached figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.conf import settings

from dashboard import charts
from dashboard.figures import figures

register = template.Library()


@register.inclusion_tag("dashboard/dashboard.html", takes_context=True)
def dashboard(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    refresh = bool(request is not None and request.GET.get("refresh") and getattr(user, "is_staff", False))
    data = figures(refresh=refresh)
    sales = data["sales"]
    peak_stage = max((s["count"] for s in data["lifecycle"]), default=0) or 1
    peak_segment = max((s["size"] for s in data["segments"]), default=0) or 1
    return {
        "data": data,
        "computed_at": datetime.fromisoformat(data["computed_at"]),
        "has_sales": any(w["orders"] or w["revenue"] for w in sales),
        "sales_chart": charts.sales_svg(sales, settings.DEFAULT_CURRENCY),
        "revenue_total": sum(w["revenue"] for w in sales),
        "orders_total": sum(w["orders"] for w in sales),
        "currency": settings.DEFAULT_CURRENCY,
        "has_customers": any(s["count"] for s in data["lifecycle"]),
        "lifecycle": [s | {"width": round(100 * s["count"] / peak_stage)} for s in data["lifecycle"]],
        "segments": [s | {"width": round(100 * s["size"] / peak_segment)} for s in data["segments"]],
        "sentiment_chart": charts.sentiment_svg(data["sentiment"]) if data["sentiment"] else None,
        "served_chart": charts.served_svg(data["served"]["days"]) if data["served"]["last_7_days"] else None,
        "served_trend": None if data["served"]["trend"] is None else round(100 * data["served"]["trend"]),
        "can_refresh": getattr(user, "is_staff", False),
    }
