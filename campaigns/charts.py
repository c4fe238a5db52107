"""Experiment charts for the admin: inline SVG drawn on the server (no JavaScript, no external assets),
in the style of `catalog.charts`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from catalog.charts import axis_end

# Distinguishable for the common colour-vision deficiencies (Okabe-Ito); the holdout is always grey.
ARM_COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#f0e442"]
HOLDOUT_COLOUR = "#777777"


@dataclass(frozen=True)
class Point:
    day: date
    rate: float
    low: float
    high: float


@dataclass
class Series:
    key: str
    points: list[Point] = field(default_factory=list)
    holdout: bool = False


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def arm_colour(index: int, holdout: bool = False) -> str:
    return HOLDOUT_COLOUR if holdout else ARM_COLOURS[index % len(ARM_COLOURS)]


def rate_over_time_svg(
    series: Sequence[Series], *, title: str = "Cumulative rate", width: int = 720, height: int = 240
) -> SafeString:
    """Cumulative rate per arm by day as lines, with its confidence interval as a translucent band.

    The y axis starts at 0 and ends just above the highest interval bound, so arms are compared on the
    same honest scale; days without data for an arm leave a gap rather than an invented value.
    """
    days = sorted({p.day for s in series for p in s.points})
    if not days:
        return mark_safe('<p class="help">No outcomes recorded yet.</p>')
    pad_left, pad_right, pad_top, pad_bottom = 48, 16, 14, 44
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    # Scale to every rate and the latest intervals: the first days' intervals are very wide and would flatten
    # the lines; bands that go above the top are clipped at it, lines never are.
    rates = [p.rate for s in series for p in s.points if _finite(p.rate)]
    latest = [max(s.points, key=lambda p: p.day).high for s in series if s.points]
    top = max([r * 1.1 for r in rates] + [v for v in latest if _finite(v)], default=0.0)
    top = min(1.0, axis_end(top * 1.1)) if top > 0 else 0.01
    index = {d: i for i, d in enumerate(days)}
    span = max(len(days) - 1, 1)

    def x(day: date) -> float:
        return pad_left + (plot_w * index[day] / span if len(days) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return pad_top + plot_h * (1 - max(0.0, min(value, top)) / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" style="font:11px sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(5):
        value = top * tick / 4
        ty = y(value)
        parts.append(
            f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#ddd"/>'
            f'<text x="{pad_left - 4}" y="{ty + 4:.1f}" text-anchor="end" fill="#666">{value * 100:.1f}%</text>'
        )
    step = max(1, math.ceil(len(days) / 8))
    labelled = list(range(0, len(days), step))
    if labelled[-1] != len(days) - 1:
        if len(labelled) > 1 and len(days) - 1 - labelled[-1] < step:
            labelled.pop()  # too close to the last day, whose date matters more
        labelled.append(len(days) - 1)
    for i in labelled:
        anchor = "end" if i == len(days) - 1 and len(days) > 1 else "middle"
        parts.append(
            f'<text x="{x(days[i]):.1f}" y="{height - pad_bottom + 14}" text-anchor="{anchor}" fill="#666">'
            f"{days[i].strftime('%m-%d')}</text>"
        )
    for n, item in enumerate(series):
        colour = arm_colour(n, item.holdout)
        points = sorted((p for p in item.points if _finite(p.rate)), key=lambda p: p.day)
        banded = [p for p in points if _finite(p.low) and _finite(p.high)]
        if len(banded) > 1:
            upper = " ".join(f"{x(p.day):.1f},{y(p.high):.1f}" for p in banded)
            lower = " ".join(f"{x(p.day):.1f},{y(p.low):.1f}" for p in reversed(banded))
            parts.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
        elif banded:  # one day only: the interval as an error bar
            p = banded[0]
            parts.append(
                f'<line x1="{x(p.day):.1f}" x2="{x(p.day):.1f}" y1="{y(p.low):.1f}" y2="{y(p.high):.1f}" '
                f'stroke="{colour}" stroke-opacity="0.5" stroke-width="6"/>'
            )
        if len(points) > 1:
            line = " ".join(f"{x(p.day):.1f},{y(p.rate):.1f}" for p in points)
            dash = ' stroke-dasharray="5 3"' if item.holdout else ""
            parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for p in points:
            interval = f" [{p.low * 100:.2f}%, {p.high * 100:.2f}%]" if _finite(p.low) and _finite(p.high) else ""
            parts.append(
                f'<circle cx="{x(p.day):.1f}" cy="{y(p.rate):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(item.key)} {p.day.isoformat()}: {p.rate * 100:.2f}%{interval}</title></circle>"
            )
        legend_x = pad_left + n * 110
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{height - 5}">{escape(item.key)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above


def interval_bar(rate: float, low: float, high: float, scale: float, colour: str, width: int = 160) -> SafeString:
    """A one-line forest-plot mark for a table cell: the interval as a bar, the rate as a tick."""
    if not (_finite(rate) and _finite(low) and _finite(high)) or scale <= 0:
        return mark_safe("")
    left, right, mid = (width * min(v / scale, 1.0) for v in (low, high, rate))
    return mark_safe(
        f'<svg width="{width}" height="12" role="img" aria-label="interval">'
        f'<line x1="0" x2="{width}" y1="6" y2="6" stroke="#eee"/>'
        f'<rect x="{left:.1f}" y="3" width="{max(right - left, 1):.1f}" height="6" fill="{colour}" '
        'fill-opacity="0.35"/>'
        f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="0" y2="12" stroke="{colour}" stroke-width="2"/></svg>'
    )


def qini_svg(
    curve: Sequence[dict[str, float]], *, qini: float | None, auuc: float | None = None,
    title: str = "Qini curve", width: int = 480, height: int = 280,
) -> SafeString:
    """The uplift model's Qini curve (incremental conversions among the top share of customers ranked by
    predicted uplift) against random targeting (the straight line to the same end), with the Qini
    coefficient (and AUUC) in the legend. `curve` is `uplift_stats.qini_points`: share, model, random."""
    points = [p for p in curve if all(_finite(p.get(k, math.nan)) for k in ("share", "model", "random"))]
    if len(points) < 2:
        return mark_safe('<p class="help">No Qini curve: the model has no held-out evaluation.</p>')
    pad_left, pad_right, pad_top, pad_bottom = 52, 16, 14, 56
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    values = [p["model"] for p in points] + [p["random"] for p in points] + [0.0]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        high = low + 1.0
    margin = (high - low) * 0.05
    low, high = low - margin, high + margin

    def x(share: float) -> float:
        return pad_left + plot_w * share

    def y(value: float) -> float:
        return pad_top + plot_h * (1 - (value - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" style="font:11px sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(5):
        value = low + (high - low) * tick / 4
        parts.append(
            f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>'
            f'<text x="{pad_left - 4}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#666">{value:.1f}</text>'
        )
    for tick in range(0, 101, 20):
        parts.append(
            f'<text x="{x(tick / 100):.1f}" y="{height - pad_bottom + 14}" text-anchor="middle" fill="#666">'
            f"{tick}%</text>"
        )
    parts.append(
        f'<text x="{pad_left + plot_w / 2:.1f}" y="{height - pad_bottom + 28}" text-anchor="middle" fill="#666">'
        "customers targeted, highest predicted uplift first</text>"
    )
    parts.append(f'<text x="{pad_left + 4}" y="{pad_top + 10}" fill="#666">incremental conversions</text>')
    random_line = " ".join(f"{x(p['share']):.1f},{y(p['random']):.1f}" for p in points)
    model_line = " ".join(f"{x(p['share']):.1f},{y(p['model']):.1f}" for p in points)
    parts.append(f'<polyline points="{random_line}" fill="none" stroke="{HOLDOUT_COLOUR}" stroke-width="1.5" '
                 'stroke-dasharray="5 3"/>')
    parts.append(f'<polyline points="{model_line}" fill="none" stroke="{ARM_COLOURS[0]}" stroke-width="2"/>')
    for p in points[:: max(1, len(points) // 10)]:
        parts.append(
            f'<circle cx="{x(p["share"]):.1f}" cy="{y(p["model"]):.1f}" r="2.5" fill="{ARM_COLOURS[0]}">'
            f"<title>top {p['share'] * 100:.0f}%: {p['model']:.1f} incremental conversions "
            f"(random {p['random']:.1f})</title></circle>"
        )
    score = f"Qini {qini:.3f}" if qini is not None and _finite(qini) else "Qini –"
    if auuc is not None and _finite(auuc):
        score += f", AUUC {auuc:.3f}"
    legend_y = height - 8
    parts.append(
        f'<rect x="{pad_left}" y="{legend_y - 9}" width="10" height="10" fill="{ARM_COLOURS[0]}"/>'
        f'<text x="{pad_left + 14}" y="{legend_y}">model ({escape(score)})</text>'
        f'<rect x="{pad_left + 220}" y="{legend_y - 9}" width="10" height="10" fill="{HOLDOUT_COLOUR}"/>'
        f'<text x="{pad_left + 234}" y="{legend_y}">random targeting</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped or a number


def scheduled_hours_svg(hours: Sequence[Mapping[str, Any]], *, width: int = 720, height: int = 200) -> SafeString:
    """Messages scheduled per hour as bars (rows of `delivery.sending_progress`: hour, scheduled, sent),
    the part already sent dark and the part still waiting light; hours in UTC."""
    if not hours:
        return mark_safe('<p class="help">No message is scheduled.</p>')
    pad_left, pad_right, pad_top, pad_bottom = 48, 16, 14, 40
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    top = max(int(h["scheduled"]) for h in hours) or 1
    slot = plot_w / len(hours)
    bar = max(2.0, slot * 0.8)
    title = "Messages scheduled per hour (UTC): sent, waiting"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" style="font:11px sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{pad_top + plot_h}" y2="{pad_top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 4}" text-anchor="end" fill="#666">{top:,}</text>',
    ]
    step = max(1, math.ceil(len(hours) / 12))
    for i, row in enumerate(hours):
        scheduled, sent = int(row["scheduled"]), int(row.get("sent", 0))
        x = pad_left + i * slot + (slot - bar) / 2
        total_h = plot_h * scheduled / top
        sent_h = plot_h * sent / top
        base = pad_top + plot_h
        label = row["hour"].strftime("%m-%d %H:00")
        tip = f"{label} UTC: {scheduled:,} scheduled, {sent:,} sent"
        parts.append(
            f'<rect x="{x:.1f}" y="{base - total_h:.1f}" width="{bar:.1f}" height="{total_h:.1f}" '
            f'fill="{ARM_COLOURS[0]}" fill-opacity="0.3"><title>{escape(tip)}</title></rect>'
        )
        if sent:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - sent_h:.1f}" width="{bar:.1f}" height="{sent_h:.1f}" '
                f'fill="{ARM_COLOURS[0]}"><title>{escape(tip)}</title></rect>'
            )
        if i % step == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 14}" text-anchor="middle" fill="#666">'
                f"{row['hour'].strftime('%H')}</text>"
            )
    first, last = hours[0]["hour"], hours[-1]["hour"]
    parts.append(
        f'<text x="{pad_left}" y="{height - 6}" fill="#666">{escape(first.strftime("%Y-%m-%d %H:00"))} to '
        f'{escape(last.strftime("%Y-%m-%d %H:00"))} UTC; dark: sent, light: waiting</text></svg>'
    )
    return mark_safe("".join(parts))
