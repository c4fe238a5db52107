"""The discount page's chart: incremental margin per customer by discount depth, one panel per segment,
with interval bars and the zero line (the reference). Inline SVG drawn on the server, in the style of
`campaigns.charts` (no JavaScript, no external assets)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from catalog.charts import axis_end

from .charts import ARM_COLOURS, HOLDOUT_COLOUR

SUGGESTED_COLOUR = "#009e73"


@dataclass(frozen=True)
class Bar:
    label: str  # the depth, e.g. "20%"
    value: float | None  # incremental margin per customer (0 for the reference)
    low: float | None
    high: float | None
    reference: bool = False
    suggested: bool = False


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def margin_by_depth_svg(
    bars: Sequence[Bar], *, title: str, currency: str, width: int = 360, height: int = 200
) -> SafeString:
    """Points with interval bars on a symmetric-enough axis that always shows zero; the suggested depth is
    green, the reference grey; a depth without an estimate is left out, never drawn at zero."""
    numbers = [float(v) for b in bars for v in (b.value, b.low, b.high) if v is not None and math.isfinite(v)]
    if not numbers:
        return mark_safe('<p class="help">No outcomes recorded yet.</p>')
    high, low = max(max(numbers), 0.0), min(min(numbers), 0.0)
    step = axis_end((high - low) / 4) if high > low else 1.0  # ticks at round numbers, zero among them
    top, bottom = math.ceil(high / step) * step, math.floor(low / step) * step
    if top == bottom:
        top = bottom + step
    pad_left, pad_right, pad_top, pad_bottom = 56, 12, 22, 30
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    slot = plot_w / max(len(bars), 1)  # horizontal room per depth

    def y(value: float) -> float:
        return pad_top + plot_h * (top - value) / (top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="incremental margin by depth: {escape(title)}" style="font:11px sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<text x="{pad_left}" y="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(round((top - bottom) / step) + 1):
        value = bottom + step * tick
        ty = y(value)
        parts.append(
            f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#eee"/>'
            f'<text x="{pad_left - 4}" y="{ty + 4:.1f}" text-anchor="end" fill="#666">{value:,.2f}</text>'
        )
    parts.append(
        f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#555" '
        'stroke-dasharray="4 3"/>'
    )
    for i, bar in enumerate(bars):
        cx = pad_left + slot * (i + 0.5)
        colour = (
            SUGGESTED_COLOUR if bar.suggested else HOLDOUT_COLOUR if bar.reference else ARM_COLOURS[0]
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - pad_bottom + 14}" text-anchor="middle" fill="#333">'
            f"{escape(bar.label if not bar.reference else bar.label.split(' ')[0])}</text>"
        )
        if not _finite(bar.value):
            continue
        value = float(bar.value)  # type: ignore[arg-type]
        if _finite(bar.low) and _finite(bar.high):
            low, high = float(bar.low), float(bar.high)  # type: ignore[arg-type]
            parts.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" stroke="{colour}" '
                'stroke-width="2"/>'
                f'<line x1="{cx - 6:.1f}" x2="{cx + 6:.1f}" y1="{y(low):.1f}" y2="{y(low):.1f}" stroke="{colour}"/>'
                f'<line x1="{cx - 6:.1f}" x2="{cx + 6:.1f}" y1="{y(high):.1f}" y2="{y(high):.1f}" stroke="{colour}"/>'
            )
            interval = f" [{low:,.2f}, {high:,.2f}]"
        else:
            interval = ""
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{y(value):.1f}" r="4" fill="{colour}">'
            f"<title>{escape(bar.label)}: {escape(currency)} {value:,.2f} per customer{interval}</title></circle>"
        )
    parts.append(
        f'<text x="{pad_left}" y="{height - 4}" fill="#666">incremental margin per customer ({escape(currency)})'
        "</text></svg>"
    )
    return mark_safe("".join(parts))  # every interpolated text is escaped above
