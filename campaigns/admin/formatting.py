"""How the campaign admin shows statuses and numbers: coloured badges, percentages, p-values, probabilities.

Numbers that the data cannot define (None, nan) show as a dash, never as "nan%".
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models import Campaign, Message, Variant

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
DASH = "–"


def badge(label: str, colour: str) -> SafeString:
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:10px;background:{};color:#fff;'
        'font-size:11px;white-space:nowrap">{}</span>',
        colour,
        label,
    )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def percent(value: Any, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}%" if _finite(value) else DASH


def signed_percent(value: Any) -> str:
    """A lift: +1.25% or -0.50%."""
    return f"{'+' if value > 0 else ''}{value * 100:.2f}%" if _finite(value) else DASH


def probability(value: Any) -> str:
    if not _finite(value):
        return DASH
    return f"{value:.3f}" if 0.001 <= value <= 0.999 else ("<0.001" if value < 0.001 else ">0.999")


def p_value(value: Any) -> str:
    if not _finite(value):
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def nan_if_none(value: float | None) -> float:
    """The charts take nan for "undefined"; the analysis (plain JSON) says None."""
    return math.nan if value is None else float(value)
