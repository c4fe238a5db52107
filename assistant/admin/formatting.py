"""How the assistant's admin shows statuses, scores and excerpts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from ..models import ConversationStatus

STATUS_COLOURS: dict[str, str] = {
    ConversationStatus.OPEN: "#0072b2",
    ConversationStatus.HANDED_OFF: "#c0392b",
    ConversationStatus.CLOSED: "#777",
}
DASH = "–"


def badge(label: str, colour: str) -> SafeString:
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:10px;background:{};color:#fff;'
        'font-size:11px;white-space:nowrap">{}</span>',
        colour,
        label,
    )


def excerpt(text: str | None, chars: int = 90) -> str:
    return Truncator(" ".join((text or "").split())).chars(chars) or DASH


def score(value: Any, digits: int = 2) -> str:
    """A score or confidence as 0.73; a dash when missing."""
    return f"{value:.{digits}f}" if isinstance(value, int | float) else DASH


def age(since: datetime | None) -> str:
    """How long ago: "5 h" under two days, else "3 days"."""
    if since is None:
        return DASH
    hours = max(0.0, (timezone.now() - since).total_seconds() / 3600)
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
