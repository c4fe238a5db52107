"""Send time per customer, offline: `python -m evaluation.send_time`.

On the real orders of ../shared/data/online_retail_train.csv (a UK gift retailer, 2010-12-01 to 12-13; one
event per invoice, cancellations left out; hours as written, UK time, which is UTC in December), each
customer's last order is held out and the rest are the history (only a day's first order counts, so
the held-out one is on another day than any in the history). The prior (shop curve and strength) is
fitted on every customer's history, as `customers.send_time` does for a shop. For the customers with at
least one order in their history, the held-out hour is scored under (a) the per-customer empirical Bayes
posterior, (b) the shop curve and its best hours, (c) uniform: mean log-likelihood of the held-out hour and
hit rate at 1 and at 3 hours, overall and by history size. Writes var/eval/send_time.json.

The demo shop is not used: its seeder draws every customer's event hours from one shop-wide curve
(demo/seed/plan.py HOUR_WEIGHTS; opens at 9:30 plus a random delay), so no customer has an hour of their
own and a per-customer model can at best tie with the shop curve there; the figure would measure nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "online_retail_train.csv"
OUTPUT = REPO / "var" / "eval" / "send_time.json"
HOURS = 24
BANDS = ((1, 1), (2, 4), (5, 10**9))  # history sizes (orders before the held-out one)


def load_orders(path: Path) -> dict[str, list[tuple[datetime, int]]]:
    """Per customer, their invoices as (moment, hour), oldest first: one per invoice, no cancellations, and
    only the first of a day (a second basket an hour later would make the held-out hour trivially easy)."""
    invoices: dict[tuple[str, str], datetime] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            customer, invoice = row["CustomerID"].strip(), row["InvoiceNo"].strip()
            if not customer or invoice.startswith("C"):
                continue
            invoices.setdefault((customer, invoice), datetime.fromisoformat(row["InvoiceDate_iso"]))
    orders: dict[str, list[tuple[datetime, int]]] = {}
    for (customer, _invoice), moment in invoices.items():
        orders.setdefault(customer, []).append((moment, moment.hour))
    for customer, history in orders.items():
        history.sort()
        first_of_day: dict[object, tuple[datetime, int]] = {}
        for moment, hour in history:
            first_of_day.setdefault(moment.date(), (moment, hour))
        orders[customer] = list(first_of_day.values())
    return orders


def split(orders: dict[str, list[tuple[datetime, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """(history counts per customer, held-out hour or -1): the last order of customers with two or more."""
    counts = np.zeros((len(orders), HOURS), dtype=np.int64)
    held_out = np.full(len(orders), -1)
    for row, history in enumerate(orders.values()):
        keep = history[:-1] if len(history) >= 2 else history
        if len(history) >= 2:
            held_out[row] = history[-1][1]
        for _moment, hour in keep:
            counts[row, hour] += 1
    return counts, held_out


def score(probabilities: np.ndarray, hours: np.ndarray) -> dict[str, float]:
    """Mean log-likelihood of the held-out hours and hit rates at 1 and 3 (rows: customers, 24 columns)."""
    picked = probabilities[np.arange(len(hours)), hours]
    # ties broken by hour order, as argmax does; uniform's hit rates are their expectation instead
    ranks = (probabilities > picked[:, None]).sum(axis=1)
    return {
        "log_likelihood": float(np.log(picked).mean()),
        "hit_at_1": float((ranks < 1).mean()),
        "hit_at_3": float((ranks < 3).mean()),
    }


def evaluate(counts: np.ndarray, held_out: np.ndarray) -> dict[str, Any]:
    from customers.send_time import fit_prior_strength, posterior

    prior = fit_prior_strength(counts)
    rows = np.flatnonzero(held_out >= 0)
    hours = held_out[rows]
    eb = np.array([posterior(counts[r], prior) for r in rows])
    eb /= eb.sum(axis=1, keepdims=True)
    shop = np.tile(prior.curve, (len(rows), 1))
    sizes = counts[rows].sum(axis=1)
    result: dict[str, Any] = {
        "customers_with_history": int((counts.sum(axis=1) > 0).sum()),
        "customers_scored": len(rows),
        "prior_strength": prior.strength,
        "shop_best_hours": [int(h) for h in np.argsort(-prior.curve)[:3]],
        "uniform": {"log_likelihood": float(np.log(1 / HOURS)), "hit_at_1": 1 / HOURS, "hit_at_3": 3 / HOURS},
        "bands": [],
    }
    for name, probabilities in (("empirical_bayes", eb), ("shop_curve", shop)):
        result[name] = score(probabilities, hours)
    for low, high in BANDS:
        mask = (sizes >= low) & (sizes <= high)
        if mask.any():
            result["bands"].append({
                "history": f"{low}-{high}" if high < 10**9 else f"{low}+", "customers": int(mask.sum()),
                "empirical_bayes": score(eb[mask], hours[mask]), "shop_curve": score(shop[mask], hours[mask]),
            })
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} is absent")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()  # customers.send_time imports its models; no table is touched
    result = evaluate(*split(load_orders(args.data)))
    print(
        f"{result['customers_scored']} customers scored (of {result['customers_with_history']}), "
        f"prior strength {result['prior_strength']:.2f}, shop's best hours {result['shop_best_hours']}"
    )
    print(f"{'model':<18} {'history':>8} {'n':>6} {'log-lik':>8} {'hit@1':>6} {'hit@3':>6}")
    for name in ("empirical_bayes", "shop_curve", "uniform"):
        s = result[name]
        n = result["customers_scored"]
        print(f"{name:<18} {'all':>8} {n:>6} {s['log_likelihood']:>8.3f} {s['hit_at_1']:>6.3f} {s['hit_at_3']:>6.3f}")
    for band in result["bands"]:
        for name in ("empirical_bayes", "shop_curve"):
            s = band[name]
            print(
                f"{name:<18} {band['history']:>8} {band['customers']:>6} {s['log_likelihood']:>8.3f} "
                f"{s['hit_at_1']:>6.3f} {s['hit_at_3']:>6.3f}"
            )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
