"""Send time per customer, offline: `python -m evaluation.send_time`.

On the real orders of ../shared/data/online_retail_train.csv (a UK gift retailer, 2010-12-01 to 12-13; one
event per invoice, cancellations left out; hours as written, UK time, which is UTC in December), each
customer's last order is held out and the rest are the history (only a day's first order counts, so
the held-out one is on another day than any in the history). The prior (shop curve and strength) is
fitted on every customer's history, as `customers.send_time` does for a shop. For the customers with at
least one order in their history, the held-out hour is scored under (a) the per-customer empirical Bayes
posterior, (b) the shop curve and its best hours, (c) uniform: mean log-likelihood of the held-out hour and
hit rate at 1 and at 3 hours, overall and by history size. Writes var/eval/send_time.json.

`--demo` scores the demo shop instead (`demo.seed.plan_shop`, planned in memory, no database): its customers
have an hour of their own kept with a habit of 30-90%, on their own clock (demo/seed/plan.py), and the shop
knows the time zone of 60% of them. Engagement is what `customers.send_time` counts (opens, clicks, one per
order), read on the customer's clock where the shop knows the zone, else in UTC, first of a day only; the
last day's is held out. The same model is also scored with every hour read in UTC (`empirical_bayes_utc`),
which is what the zones add. Writes var/eval/send_time_demo.json.
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
DEMO_OUTPUT = REPO / "var" / "eval" / "send_time_demo.json"
DEMO_ANCHOR = "2026-06-01"  # a fixed anchor, so the figure is the same on every run
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


def load_demo(seed: int, customers: int, events: int, *, local: bool = True) -> dict[str, list[tuple[datetime, int]]]:
    """The demo shop's engagement per customer as (moment, hour), oldest first, first of a day only: opens,
    clicks and orders (one per order), the hour on the customer's clock where the shop knows their zone
    (`local`), else UTC."""
    from datetime import UTC, date
    from zoneinfo import ZoneInfo

    from customers.models import EventType
    from demo.seed import SeedOptions, plan_shop

    plan = plan_shop(SeedOptions(
        seed=seed, customers=customers, events=events, products=300, reviews=0,
        anchor=date.fromisoformat(DEMO_ANCHOR),
    ))
    zones = {c.index: ZoneInfo(c.timezone) if local and c.timezone else UTC for c in plan.customers}
    seen_orders: set[int] = set()
    orders: dict[str, list[tuple[datetime, int]]] = {}
    for e in plan.events:  # sorted by time
        if e.type == EventType.PURCHASE:
            if e.order is None or e.order in seen_orders:
                continue
            seen_orders.add(e.order)
        elif e.type not in (EventType.OPEN, EventType.CLICK):
            continue
        moment = e.occurred_at.astimezone(zones[e.customer])
        orders.setdefault(str(e.customer), []).append((moment, moment.hour))
    for customer, history in orders.items():
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


def per_customer(probabilities: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Rows (log-likelihood, hit at 1, hit at 3) of each customer's held-out hour, as `score` averages them."""
    picked = probabilities[np.arange(len(hours)), hours]
    ranks = (probabilities > picked[:, None]).sum(axis=1)
    return np.stack([np.log(picked), ranks < 1, ranks < 3], axis=1).astype(np.float64)


def difference_interval(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> dict[str, list[float]]:
    """95% bootstrap intervals (customers resampled, paired) of mean(a) - mean(b) per column of `per_customer`."""
    rng = np.random.default_rng(seed)
    n = len(a)
    draws = rng.integers(0, n, size=(resamples, n))
    diff = a - b
    means = np.stack([diff[d].mean(axis=0) for d in draws])
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    names = ("log_likelihood", "hit_at_1", "hit_at_3")
    return {name: [round(float(diff[:, i].mean()), 4), round(float(low[i]), 4), round(float(high[i]), 4)]
            for i, name in enumerate(names)}


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
    # [difference, 95% low, 95% high] of the per-customer estimate over the shop curve
    result["empirical_bayes_minus_shop_curve"] = difference_interval(per_customer(eb, hours), per_customer(shop, hours))
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
    parser.add_argument("--demo", action="store_true", help="score the demo shop (planned in memory) instead")
    parser.add_argument("--seed", type=int, default=42, help="demo seed")
    parser.add_argument("--customers", type=int, default=3000, help="demo customers")
    parser.add_argument("--events", type=int, default=60_000, help="demo events (approximate)")
    args = parser.parse_args(argv)
    if not args.demo and not args.data.exists():
        print(f"skipped: {args.data} is absent")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()  # customers.send_time and the demo planner import models; no table is touched
    output = OUTPUT
    if args.demo:
        result = evaluate(*split(load_demo(args.seed, args.customers, args.events)))
        utc = evaluate(*split(load_demo(args.seed, args.customers, args.events, local=False)))
        result["empirical_bayes_utc"] = utc["empirical_bayes"]
        result["demo"] = {"seed": args.seed, "customers": args.customers, "events": args.events,
                          "anchor": DEMO_ANCHOR}
        output = DEMO_OUTPUT
    else:
        result = evaluate(*split(load_orders(args.data)))
    print(
        f"{result['customers_scored']} customers scored (of {result['customers_with_history']}), "
        f"prior strength {result['prior_strength']:.2f}, shop's best hours {result['shop_best_hours']}"
    )
    print(f"{'model':<18} {'history':>8} {'n':>6} {'log-lik':>8} {'hit@1':>6} {'hit@3':>6}")
    for name in ("empirical_bayes", "empirical_bayes_utc", "shop_curve", "uniform"):
        if name not in result:
            continue
        s = result[name]
        n = result["customers_scored"]
        print(f"{name:<18} {'all':>8} {n:>6} {s['log_likelihood']:>8.3f} {s['hit_at_1']:>6.3f} {s['hit_at_3']:>6.3f}")
    gain = result["empirical_bayes_minus_shop_curve"]
    print("empirical_bayes - shop_curve [95% bootstrap interval]: " + ", ".join(
        f"{name} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for name, (d, lo, hi) in gain.items()
    ))
    for band in result["bands"]:
        for name in ("empirical_bayes", "shop_curve"):
            s = band[name]
            print(
                f"{name:<18} {band['history']:>8} {band['customers']:>6} {s['log_likelihood']:>8.3f} "
                f"{s['hit_at_1']:>6.3f} {s['hit_at_3']:>6.3f}"
            )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
