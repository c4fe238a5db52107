"""`manage.py evaluate_predictions --transactions FILE --customer-column C --time-column C --value-column C
[--quantity-column C] --cutoff DATE [--date-format F] --format json|table`: every prediction method at one
cutoff of a plain transactions file; see customers/predictions/backtest.py and transactions.py."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.moments import parse_now
from customers.predictions.backtest import (
    CLASSIFIER_METRICS,
    METHODS,
    VALUE_METRICS,
    BacktestError,
    evaluate_at_cutoff,
)
from customers.predictions.history import to_days
from customers.predictions.transactions import TransactionsError, read_transactions


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"


def _cell(value: float | None, ci: list[float | None] | None) -> str:
    """A metric and its interval; "-" when undefined (a constant's Spearman), "?" for an unbounded end."""
    if value is None:
        return "-"
    return f"{_number(value)} [{_number(ci[0])}, {_number(ci[1])}]" if ci else _number(value)


class Command(BaseCommand):
    help = (
        "Evaluate purchase in 30 days, churn (no purchase in 90 days) and 90-day value at a cutoff of a "
        "transactions file (one row per order or order line): features before the cutoff, outcomes after "
        "it, for the mean, recency alone, BG/NBD (+ Gamma-Gamma) and the project's model, each fitted only on "
        "data before the cutoff. Metrics carry bootstrap intervals over customers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transactions", required=True, metavar="FILE",
                            help="CSV (or .csv.gz; delimiter sniffed) with a header line.")
        parser.add_argument("--customer-column", required=True, metavar="C")
        parser.add_argument("--time-column", required=True, metavar="C")
        parser.add_argument("--value-column", required=True, metavar="C",
                            help="The amount of the row (the unit price when --quantity-column is given).")
        parser.add_argument("--quantity-column", metavar="C", help="Value = amount x quantity.")
        parser.add_argument("--cutoff", required=True, metavar="DATE",
                            help="YYYY-MM-DD (midnight UTC) or an ISO date-time: features before, outcomes after.")
        parser.add_argument("--date-format", metavar="F",
                            help="strptime format of the time column, e.g. '%%d/%%m/%%Y %%H:%%M' (default ISO 8601).")
        parser.add_argument("--format", choices=["json", "table"], default="table")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            cutoff = parse_now(opts["cutoff"])
        except ValueError as exc:
            raise CommandError(f"--cutoff: {exc}".replace("now=", "")) from None
        assert cutoff is not None
        try:
            tx = read_transactions(
                opts["transactions"], customer_column=opts["customer_column"], time_column=opts["time_column"],
                value_column=opts["value_column"], quantity_column=opts["quantity_column"],
                date_format=opts["date_format"],
            )
            report = evaluate_at_cutoff(tx, to_days(cutoff))
        except (TransactionsError, BacktestError) as exc:
            raise CommandError(str(exc)) from None
        report = {"file": str(opts["transactions"]), **report}
        if opts["format"] == "json":
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._table(report)

    def _table(self, report: dict[str, Any]) -> None:
        out = self.stdout
        skipped = report["skipped"]
        out.write(
            f"{report['file']}: cutoff {report['cutoff']} (data {report['data_start']} to {report['data_end']}); "
            f"{report['customers']} customers, {report['orders_before']} orders before, {report['orders_after']} "
            f"after; skipped rows {report['skipped_rows']} (no customer {skipped['no_customer']}, "
            f"{skipped['negative_orders']} negative orders)"
        )
        out.write(f"[95% intervals: {report['bootstrap']['resamples']} bootstrap resamples of customers]")
        if "bgnbd" in report:
            fitted = report["bgnbd"]
            what = "BG/NBD + Gamma-Gamma" if fitted["gamma_gamma"] else "BG/NBD"
            params = ", ".join(f"{k} {_cell(v, fitted['params_ci'].get(k))}" for k, v in fitted["params"].items())
            out.write(f"{what} fitted before the cutoff (per day): {params}")
        for target, entry in report["targets"].items():
            out.write("")
            if "refused" in entry:
                out.write(f"{target}: refused: {entry['refused']}")
                continue
            metrics = VALUE_METRICS if target == "value_90d" else CLASSIFIER_METRICS
            if target == "value_90d":
                facts = f"{entry['buyers']} buyers, mean value {entry['mean_value']}"
            else:
                facts = f"{entry['positives']} positives, rate {entry['rate']}"
            out.write(f"{target} ({entry['customers']} customers, {facts})")
            cells = {name: [_cell(entry["methods"][name].get(m), entry["methods"][name].get(f"{m}_ci"))
                            for m in metrics] for name in METHODS if "refused" not in entry["methods"][name]}
            width = max([len(c) for row in cells.values() for c in row] + [len(m) for m in metrics]) + 2
            header = f"  {'method':<10}" + "".join(f"{m:>{width}}" for m in metrics)
            out.write(header)
            out.write("  " + "-" * (len(header) - 2))
            for name in METHODS:
                method = entry["methods"][name]
                if "refused" in method:
                    out.write(f"  {name:<10}refused: {method['refused']}")
                else:
                    out.write(f"  {name:<10}" + "".join(f"{c:>{width}}" for c in cells[name]))
