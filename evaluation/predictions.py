"""`manage.py evaluate_predictions` on three histories: `python -m evaluation.predictions`.

(a) A synthetic BG/NBD history, where the true process is known (`simulated_rows`: Gamma-distributed purchase
    rates, Beta-distributed drop-out after each repeat order, Gamma-Gamma spend per order, the default
    `customers.predictions.simulation.Process`; first orders over the first half of a year, the cutoff 90 days
    before its end). The report's `bgnbd.params_ci` can be read against the true process.
(b) The demo shop: its purchase lines planned in memory by `demo.seed.plan_shop` (seed 42, the default
    size, anchored at 2025-06-01), exported as one row per order line (customer, time, line value); no
    database row is written.
(c) ../shared/data/online_retail_train.csv when present (13 days of invoices: every target needs at least 30
    days of outcomes, so the command refuses them and says why; kept to show the refusal on real data).

Writes the transactions files and each report under var/eval/predictions/ and prints the tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from customers.predictions.simulation import Process

REPO = Path(__file__).resolve().parent.parent
RETAIL = REPO.parent / "shared" / "data" / "online_retail_train.csv"
OUTPUT = REPO / "var" / "eval" / "predictions"
START = datetime(2024, 1, 1, tzinfo=UTC)


DAYS, ARRIVAL_DAYS = 365, 180  # the synthetic year, and the first half in which customers make their first order


def simulated_rows(customers: int, seed: int = 0, process: Process | None = None) -> list[tuple[str, str, str]]:
    """Rows (customer, ISO time, amount), one per order, of a BG/NBD + Gamma-Gamma history over `DAYS` days from
    `START` (`customers.predictions.simulation`: the process the btyd tests recover)."""
    from customers.predictions.simulation import Process, simulate_orders  # after django.setup()

    cust, t, value = simulate_orders(customers, process or Process(), 0.0, ARRIVAL_DAYS, DAYS, seed=seed)
    order = np.argsort(t, kind="stable")
    return [(f"c{cust[i]:05d}", (START + timedelta(days=float(t[i]))).isoformat(timespec="seconds"),
             f"{value[i]:.2f}") for i in order]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def demo_transactions(path: Path, anchor: date = date(2025, 6, 1)) -> Path:
    """The demo shop's purchase lines (customer, time, line value = price x quantity), planned in memory."""
    from demo.seed import SeedOptions, plan_shop

    plan = plan_shop(SeedOptions(anchor=anchor))
    rows = [(plan.customers[e.customer].external_id, e.occurred_at.isoformat(), str(e.value))
            for e in plan.events if e.type == "purchase" and e.value is not None]
    return write_csv(path, ("customer", "ordered_at", "value"), rows)


def run(label: str, args: list[str]) -> dict[str, object]:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    try:
        call_command("evaluate_predictions", *args, "--format", "json", stdout=out)
    except CommandError as exc:
        print(f"{label}: {exc}")
        return {"error": str(exc)}
    report: dict[str, object] = json.loads(out.getvalue())
    table = StringIO()
    call_command("evaluate_predictions", *args, "--format", "table", stdout=table)  # a second run: same numbers
    print(f"== {label}\n{table.getvalue()}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=5000, help="of the synthetic history")
    parser.add_argument("--retail", type=Path, default=RETAIL, help="the Online Retail file (skipped when absent)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()  # the command and the demo planner import models; no table is touched
    synthetic = write_csv(OUTPUT / "synthetic_bgnbd.csv", ("customer", "ordered_at", "amount"),
                          simulated_rows(args.customers))
    cutoff = (START + timedelta(days=DAYS - 90)).date().isoformat()
    reports = {"synthetic_bgnbd": run("synthetic BG/NBD", [
        "--transactions", str(synthetic), "--customer-column", "customer", "--time-column", "ordered_at",
        "--value-column", "amount", "--cutoff", cutoff])}
    demo = demo_transactions(OUTPUT / "demo_shop.csv")
    reports["demo_shop"] = run("demo shop", [
        "--transactions", str(demo), "--customer-column", "customer", "--time-column", "ordered_at",
        "--value-column", "value", "--cutoff", "2025-03-03"])
    if args.retail.exists():
        reports["online_retail"] = run("online retail", [
            "--transactions", str(args.retail), "--customer-column", "CustomerID", "--time-column", "InvoiceDate",
            "--date-format", "%d/%m/%Y %H:%M", "--value-column", "UnitPrice", "--quantity-column", "Quantity",
            "--cutoff", "2010-12-08"])
    (OUTPUT / "report.json").write_text(json.dumps(reports, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
