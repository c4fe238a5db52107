"""How a version's validation metrics read in the admin: each headline metric beside the baselines it was
measured against, and the decile table (mean predicted vs mean actual per decile of the prediction).

Metrics are stored flat by the trainers (`auc`, `baseline_auc`, `rmse`, `baseline_rmse_mean`, `buy_brier`,
`buy_baseline_brier`...): a baseline key is `[prefix]baseline_<metric>[_<which>]`, so the pairing here needs no
list per model. A `baselines` dict of `{name: {metric: value}}` is read too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .charts import deciles_svg
from .models import ModelRole

# Shown in this order when present; "lower" ones are errors (smaller is better).
HEADLINE = ["auc", "brier", "log_loss", "normalised_gini", "gini", "spearman", "rmse", "mae", "mae_days",
            "macro_f1", "f1", "accuracy", "precision", "recall"]
LOWER_IS_BETTER = {"brier", "log_loss", "rmse", "mae", "mae_days"}
PREFIXES = ["", "buy_"]  # value_90d also reports its purchase classifier as buy_auc, buy_brier...
PREFIX_LABEL = {"": "", "buy_": "P(order): "}


@dataclass
class MetricRow:
    name: str  # as stored ("buy_auc")
    label: str  # as read ("P(order): auc")
    value: float
    lower_is_better: bool
    baselines: list[tuple[str, float, bool]] = field(default_factory=list)  # (which, value, model beats it)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value) else None


def headline_rows(metrics: dict[str, Any]) -> list[MetricRow]:
    """Every headline metric present, with the baselines found for it, in `HEADLINE` order."""
    rows: dict[str, MetricRow] = {}
    for prefix in PREFIXES:
        for base in HEADLINE:
            value = _number(metrics.get(prefix + base))
            if value is not None:
                rows[prefix + base] = MetricRow(prefix + base, PREFIX_LABEL[prefix] + base.replace("_", " "), value,
                                                base in LOWER_IS_BETTER)

    def add(row: MetricRow, which: str, value: float) -> None:
        beats = value > row.value if row.lower_is_better else value < row.value
        row.baselines.append((which, value, beats))

    for key, raw in metrics.items():
        value = _number(raw)
        if value is None:
            continue
        for prefix in PREFIXES:
            start = prefix + "baseline_"
            if not key.startswith(start):
                continue
            rest = key[len(start):]
            # The longest headline name that `rest` starts with: baseline_mae_days_* is for mae_days, not mae.
            matches = [b for b in HEADLINE if (rest == b or rest.startswith(b + "_")) and prefix + b in rows]
            if matches:
                base = max(matches, key=len)
                add(rows[prefix + base], rest[len(base) + 1:].replace("_", " ") or "baseline", value)
    for which, values in (metrics.get("baselines") or {}).items() if isinstance(metrics.get("baselines"),
                                                                                  dict) else ():
        if isinstance(values, dict):
            for name, raw in values.items():
                value = _number(raw)
                if value is not None and name in rows:
                    add(rows[name], str(which), value)
    return list(rows.values())


@dataclass(frozen=True)
class DecileTable:
    rows: list[dict[str, float]]  # decile, n, mean_predicted, mean_actual
    what: str  # what is predicted: "90-day value", "P(order in 90 days)"...
    source: str  # the metrics key it came from


def decile_table(metrics: dict[str, Any], what: str) -> DecileTable | None:
    """`deciles` (every target, {decile, n, mean_predicted, mean_actual}) or, for versions trained before it,
    the classifiers' `calibration` ({..., observed}); value models had only their purchase classifier's
    `buy_calibration`. None when the version has none."""
    for key, label in (("deciles", what), ("calibration", what), ("buy_calibration", "P(order in 90 days)")):
        raw = metrics.get(key)
        if not isinstance(raw, list) or not raw:
            continue
        rows: list[dict[str, float]] = []
        for item in raw:
            if not isinstance(item, dict):
                continue
            predicted = _number(item.get("mean_predicted"))
            actual = _number(item.get("mean_actual", item.get("observed")))
            if predicted is None or actual is None:
                continue
            rows.append({"decile": int(item.get("decile") or len(rows) + 1), "n": int(item.get("n") or 0),
                         "mean_predicted": predicted, "mean_actual": actual})
        if rows:
            return DecileTable(rows, label, key)
    return None


# The unit of each prediction role's decile chart, and what it predicts.
DECILE_UNITS: dict[str, tuple[str, str]] = {
    ModelRole.PURCHASE_30D: ("percent", "P(order in 30 days)"),
    ModelRole.CHURN: ("percent", "P(no order in 90 days)"),
    ModelRole.VALUE_90D: ("money", "90-day value"),
    ModelRole.NEXT_ORDER: ("days", "days from the last order to the next"),
}


def quality_table(metrics: dict[str, Any]) -> SafeString | str:
    """Each headline metric beside the naive baselines it was measured against (✓: the model beats it)."""
    rows = headline_rows(metrics)
    if not rows:
        return "-"
    body = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", (
        (row.label + (" (lower is better)" if row.lower_is_better else ""), f"{row.value:.4g}",
         format_html_join(", ", "{} {}{}", ((which, f"{value:.4g}", " ✓" if beats else " ✗")
                                             for which, value, beats in row.baselines)) or "-")
        for row in rows
    ))
    return format_html("<table><tr><th>metric</th><th>model</th><th>baselines (✓ model better)</th></tr>{}"
                       "</table>", body)


def deciles_chart(role: str, metrics: dict[str, Any]) -> SafeString | str:
    """The decile chart of a version, titled with what it predicts, or a sentence saying it has none."""
    unit, what = DECILE_UNITS.get(role, ("number", "prediction"))
    table = decile_table(metrics, what)
    if table is None:
        return "No decile table for this version."
    chart_unit = "percent" if table.source == "buy_calibration" else unit
    title = f"{table.what}: mean predicted vs mean actual per decile of the prediction"
    return format_html("<p>{}</p>{}", title,
                       deciles_svg(table.rows, unit=chart_unit, currency=settings.DEFAULT_CURRENCY, title=title))
