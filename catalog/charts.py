"""Small inline SVG charts for the admin: no JavaScript, no external assets, readable in any browser."""

from __future__ import annotations

import math
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


def axis_end(value: float) -> float:
    """Round up to a readable axis end (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten); every chart's
    axis (catalog, campaigns) uses it, so the same data gets the same ticks everywhere."""
    if value <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    return next(step * base for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if value <= step * base)


def format_in_unit(value: float, unit: str, currency: str = "") -> str:
    """An axis or tooltip number: "12%", "35.20 EUR", "14 days", "3.2"."""
    if unit == "percent":
        return f"{value * 100:.0f}%" if value >= 0.1 or value == 0 else f"{value * 100:.1f}%"
    if unit == "money":
        return f"{value:,.2f} {currency}".strip()
    if unit == "days":
        return f"{value:,.0f} days"
    return f"{value:,.3g}"


DECILE_COLOURS = {"predicted": "#0072b2", "actual": "#e69f00"}


def deciles_svg(rows: Sequence[dict[str, Any]], *, unit: str, currency: str = "", title: str = "",
                width: int = 720, height: int = 260) -> SafeString:
    """Predicted vs actual per decile of the prediction (1 = lowest predicted): two bars per decile.

    A well-ranked model climbs from left to right; a calibrated one has bars of equal height in each pair.
    """
    if not rows:
        return mark_safe('<p class="help">No decile table for this version.</p>')
    pad_left, pad_right, pad_top, pad_bottom = 76, 12, 14, 48
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    peak = max(max(float(r["mean_predicted"]), float(r["mean_actual"])) for r in rows)
    top = min(1.0, axis_end(peak * 1.05)) if unit == "percent" else axis_end(peak * 1.05)
    slot = plot_w / len(rows)
    bar = max(2.0, slot * 0.36)
    label = title or "Predicted vs actual per decile"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" style="font:11px sans-serif">',
        f"<title>{escape(label)}</title>",
    ]

    def y(value: float) -> float:
        return pad_top + plot_h * (1 - max(0.0, min(value, top)) / top)

    for tick in range(5):
        value = top * tick / 4
        parts.append(
            f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>'
            f'<text x="{pad_left - 4}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#666">'
            f"{escape(format_in_unit(value, unit, currency))}</text>"
        )
    for i, row in enumerate(rows):
        x0 = pad_left + i * slot + (slot - 2 * bar) / 2
        for j, side in enumerate(("predicted", "actual")):
            value = float(row[f"mean_{side}"])
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                f'height="{pad_top + plot_h - y(value):.1f}" fill="{DECILE_COLOURS[side]}">'
                f"<title>decile {int(row['decile'])} ({int(row.get('n', 0))} customers): mean {side} "
                f"{escape(format_in_unit(value, unit, currency))}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + bar:.1f}" y="{pad_top + plot_h + 14}" text-anchor="middle" fill="#666">'
            f"{int(row['decile'])}</text>"
        )
    parts.append(
        f'<text x="{pad_left + plot_w / 2:.1f}" y="{pad_top + plot_h + 28}" text-anchor="middle" fill="#666">'
        "decile of the prediction (1 = lowest)</text>"
    )
    for j, side in enumerate(("predicted", "actual")):
        parts.append(
            f'<rect x="{pad_left + j * 110}" y="{height - 14}" width="10" height="10" fill="{DECILE_COLOURS[side]}"/>'
            f'<text x="{pad_left + j * 110 + 14}" y="{height - 5}">mean {side}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above
