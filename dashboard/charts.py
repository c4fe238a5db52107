"""The dashboard's inline SVG charts, drawn on the server like `catalog.charts` and `campaigns.charts`
(no JavaScript: the CSP allows no inline script, and nothing comes from a CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from catalog.charts import COLOURS

BAR = "#79aec8"
LINE = "#417690"


def _frame(width: int, height: int, label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}" style="font:11px sans-serif;max-width:100%;height:auto">',
        f"<title>{escape(label)}</title>",
    ]


def _week_labels(weeks: Sequence[str], x_of: Any, y: float) -> list[str]:
    step = max(1, len(weeks) // 6)
    shown = list(range(0, len(weeks), step))
    if shown and shown[-1] != len(weeks) - 1:
        if len(weeks) - 1 - shown[-1] < step:
            shown.pop()  # too close to the latest week, whose date matters more
        shown.append(len(weeks) - 1)
    return [
        f'<text x="{x_of(i):.1f}" y="{y:.1f}" text-anchor="middle" fill="#666">{escape(weeks[i][5:])}</text>'
        for i in shown
    ]


def sales_svg(weeks: Sequence[dict[str, Any]], currency: str = "", width: int = 720, height: int = 220) -> SafeString:
    """Revenue per week as bars (left axis) and orders per week as a line (right axis)."""
    pad_left, pad_right, pad_top, pad_bottom = 64, 48, 14, 40
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    top_revenue = max((w["revenue"] for w in weeks), default=0) or 1.0
    top_orders = max((w["orders"] for w in weeks), default=0) or 1
    slot = plot_w / max(len(weeks), 1)
    bar = max(2.0, slot * 0.7)

    def centre(i: int) -> float:
        return pad_left + i * slot + slot / 2

    parts = _frame(width, height, "Revenue and orders per week")
    parts.append(f'<text x="{pad_left - 4}" y="{pad_top + 8}" text-anchor="end" fill="#666">'
                 f"{escape(currency)} {top_revenue:,.0f}</text>")
    parts.append(f'<text x="{pad_left - 4}" y="{pad_top + plot_h}" text-anchor="end" fill="#666">0</text>')
    parts.append(f'<text x="{width - pad_right + 4}" y="{pad_top + 8}" fill="{LINE}">{top_orders} orders</text>')
    base = pad_top + plot_h
    parts.append(f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{base}" y2="{base}" stroke="#ccc"/>')
    points = []
    for i, week in enumerate(weeks):
        h = plot_h * week["revenue"] / top_revenue
        parts.append(
            f'<rect x="{centre(i) - bar / 2:.1f}" y="{pad_top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"><title>week of {escape(week["week"])}: {escape(currency)} {week["revenue"]:,.2f}, '
            f'{week["orders"]} orders</title></rect>'
        )
        points.append(f"{centre(i):.1f},{pad_top + plot_h * (1 - week['orders'] / top_orders):.1f}")
    if len(points) > 1:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    parts += _week_labels([w["week"] for w in weeks], centre, height - pad_bottom + 16)
    parts.append(
        f'<rect x="{pad_left}" y="{height - 14}" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{pad_left + 14}" y="{height - 5}">revenue</text>'
        f'<rect x="{pad_left + 80}" y="{height - 9}" width="14" height="2" fill="{LINE}"/>'
        f'<text x="{pad_left + 98}" y="{height - 5}">orders</text></svg>'
    )
    return mark_safe("".join(parts))  # every interpolated text is escaped above


def sentiment_svg(weeks: Sequence[dict[str, Any]], width: int = 720, height: int = 200) -> SafeString:
    """Analysed reviews per week, stacked by sentiment, with the mean polarity (-1..1) as a line."""
    pad_left, pad_right, pad_top, pad_bottom = 40, 40, 12, 36
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    peak = max((w["positive"] + w["neutral"] + w["negative"] for w in weeks), default=0) or 1
    slot = plot_w / max(len(weeks), 1)
    bar = max(2.0, slot * 0.7)

    def centre(i: int) -> float:
        return pad_left + i * slot + slot / 2

    parts = _frame(width, height, "Review sentiment per week")
    parts.append(f'<text x="4" y="{pad_top + 8}" fill="#666">{peak}</text>')
    parts.append(f'<text x="{width - pad_right + 4}" y="{pad_top + 8}" fill="{LINE}">+1</text>')
    parts.append(f'<text x="{width - pad_right + 4}" y="{pad_top + plot_h}" fill="{LINE}">−1</text>')
    points = []
    for i, week in enumerate(weeks):
        y = float(pad_top + plot_h)
        for side in ("negative", "neutral", "positive"):
            if not week[side]:
                continue
            h = plot_h * week[side] / peak
            y -= h
            parts.append(
                f'<rect x="{centre(i) - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[side]}"><title>week of {escape(week["week"])}: {week[side]} {side}</title></rect>'
            )
        if week["polarity"] is not None:
            points.append(f"{centre(i):.1f},{pad_top + plot_h * (1 - (week['polarity'] + 1) / 2):.1f}")
    if len(points) > 1:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    parts += _week_labels([w["week"] for w in weeks], centre, height - pad_bottom + 16)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def served_svg(days: Sequence[dict[str, Any]], width: int = 320, height: int = 70) -> SafeString:
    """Recommendation lists served per day as small bars, today last (the trend at a glance)."""
    pad_top, pad_bottom = 4, 16
    plot_h = height - pad_top - pad_bottom
    peak = max((d["lists"] for d in days), default=0) or 1
    slot = width / max(len(days), 1)
    bar = max(1.0, slot * 0.75)
    parts = _frame(width, height, "Recommendation lists served per day")
    for i, day in enumerate(days):
        h = plot_h * day["lists"] / peak
        parts.append(
            f'<rect x="{i * slot + (slot - bar) / 2:.1f}" y="{pad_top + plot_h - h:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{escape(day["day"])}: {day["lists"]} lists, '
            f'{day["items"]} products</title></rect>'
        )
    if days:
        parts.append(f'<text x="0" y="{height - 3}" fill="#666">{escape(days[0]["day"][5:])}</text>')
        parts.append(f'<text x="{width}" y="{height - 3}" text-anchor="end" fill="#666">today</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above
