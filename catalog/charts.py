"""Small inline SVG charts for the admin: no JavaScript, no external assets, readable in any browser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

COLOURS = {"positive": "#3b9a57", "neutral": "#c9b458", "negative": "#c0392b"}


def sentiment_over_time_svg(months: Sequence[dict[str, Any]], width: int = 720, height: int = 220) -> SafeString:
    """Stacked monthly bars of review sentiment, with the mean star rating as a line (right axis)."""
    if not months:
        return mark_safe("<p>No reviews analysed yet.</p>")
    pad_left, pad_right, pad_top, pad_bottom = 36, 36, 12, 36
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    peak = max(int(m.get("reviews", 0)) for m in months) or 1
    slot = plot_w / len(months)
    bar = max(2.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Review sentiment per month" style="font:11px sans-serif">',
        f'<text x="4" y="{pad_top + 8}" fill="#666">{peak}</text>',
        f'<text x="{width - pad_right + 4}" y="{pad_top + 8}" fill="#417690">5★</text>',
        f'<text x="{width - pad_right + 4}" y="{pad_top + plot_h}" fill="#417690">1★</text>',
    ]
    line: list[str] = []
    for i, month in enumerate(months):
        x = pad_left + i * slot + (slot - bar) / 2
        y = float(pad_top + plot_h)
        for side in ("negative", "neutral", "positive"):
            count = int(month.get(side, 0))
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[side]}">'
                f"<title>{escape(month['month'])}: {count} {side}</title></rect>"
            )
        rating = month.get("rating_average")
        if rating:
            ry = pad_top + plot_h * (5 - float(rating)) / 4
            line.append(f"{x + bar / 2:.1f},{ry:.1f}")
        if len(months) <= 12 or i % max(1, len(months) // 12) == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - pad_bottom + 14}" fill="#666">{escape(month["month"][2:])}</text>'
            )
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#417690" stroke-width="2"/>')
    legend_y = height - 6
    for j, side in enumerate(("positive", "neutral", "negative")):
        parts.append(
            f'<rect x="{pad_left + j * 90}" y="{legend_y - 9}" width="10" height="10" fill="{COLOURS[side]}"/>'
        )
        parts.append(f'<text x="{pad_left + j * 90 + 14}" y="{legend_y}">{side}</text>')
    parts.append(f'<text x="{pad_left + 290}" y="{legend_y}" fill="#417690">— mean rating</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above


def share_bar(share: float, colour: str) -> SafeString:
    return format_html(
        '<span style="display:inline-block;width:80px;background:#eee"><span style="display:block;'
        'width:{}%;background:{};height:8px"></span></span> {}%',
        round(share * 100),
        colour,
        round(share * 100),
    )
