"""Do the discount suggestions keep their promises? `python -m evaluation.discounts [--runs 400]`.

Seeded simulations of one segment of a discount experiment (a holdout and arms at 10%, 20%, 30%), analysed
by the same code the platform runs (`campaigns.discounts.suggest`, its intervals and sample sizes). Each
customer converts with its depth's true rate and spends a lognormal list value (mean 50); margins are
(1 - d) x value - 0.6 x value (a 40% gross margin). Scenarios:
- "clear best": lapsed customers (2%, 6%, 20%, 22% conversion): 20% is best by 0.9 per customer over 30%;
  at several sizes per arm, how often 20% is suggested, something else is, or "not enough evidence";
  and how often the incremental-margin intervals cover the truth;
- "planned": the same at the sample the "not enough evidence" formula asks for, from the true difference
  and variances of 20% vs its closest rival (30%): the observed power against the planned 0.8;
- "tie": rates chosen so every depth (and the holdout) has the same expected margin: any suggestion is
  a false one.
Prints a table and writes var/eval/discounts.json. Needs no data set and no database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "var" / "eval" / "discounts.json"
SEED = 20261206
DEPTHS = (0.0, 10.0, 20.0, 30.0)
MEAN_VALUE = 50.0
MARGIN = 0.4
SIGMA = 0.5  # lognormal spread of an order's value
CLEAR = (0.02, 0.06, 0.20, 0.22)
TIE = tuple(0.1 * MARGIN / (MARGIN - d / 100) for d in DEPTHS)  # p x (m - d) constant: 0.1, 0.133, 0.2, 0.4
ALPHA, POWER = 0.05, 0.8


def _true_margin(rates: tuple[float, ...], i: int) -> float:
    return rates[i] * MEAN_VALUE * (MARGIN - DEPTHS[i] / 100)


def _draw(rng: np.random.Generator, rate: float, n: int, depth: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    converted = rng.random(n) < rate
    value = converted * MEAN_VALUE * rng.lognormal(0.0, SIGMA, n) / math.exp(SIGMA**2 / 2)
    margin = (1 - depth / 100) * value - (1 - MARGIN) * value
    return converted, value, margin


def _wilson(k: int, n: int) -> list[float]:
    from campaigns.experiment_stats import wilson_interval

    return [round(v, 4) for v in wilson_interval(k, n)]


def run(rates: tuple[float, ...], per_arm: int, runs: int, rng: np.random.Generator) -> dict[str, Any]:
    from campaigns.discounts import Depth, DepthSample, difference_interval, suggest

    depths = [
        Depth("holdout" if d == 0 else f"{d:g}%", d, (i,), (str(i),), d == 0) for i, d in enumerate(DEPTHS)
    ]
    truth_best = max(range(len(DEPTHS)), key=lambda i: _true_margin(rates, i))
    tie = len({round(_true_margin(rates, i), 9) for i in range(len(DEPTHS))}) == 1
    counts = {"right": 0, "wrong": 0, "not_enough_evidence": 0}
    covered = intervals = 0
    samples_said: list[int] = []
    for _ in range(runs):
        groups = [DepthSample(depth, *_draw(rng, rates[i], per_arm, depth.percent)) for i, depth in enumerate(depths)]
        answer = suggest(groups[1:], groups[0], alpha=ALPHA, power=POWER)
        if answer["status"] == "suggested":
            right = not tie and answer["depth"] == depths[truth_best].label
            counts["right" if right else "wrong"] += 1
        else:
            counts["not_enough_evidence"] += 1
            if answer["sample_needed_per_arm"] is not None:
                samples_said.append(answer["sample_needed_per_arm"])
        for i in range(1, len(DEPTHS)):
            _, low, high = difference_interval(groups[i].margin, groups[0].margin, 1 - ALPHA)
            covered += low <= _true_margin(rates, i) - _true_margin(rates, 0) <= high
            intervals += 1
    return {
        "per_arm": per_arm,
        "runs": runs,
        **{f"{k}_rate": v / runs for k, v in counts.items()},
        "right_ci": _wilson(counts["right"], runs),
        "wrong_ci": _wilson(counts["wrong"], runs),
        "coverage": covered / intervals,
        "coverage_ci": _wilson(covered, intervals),
        "median_sample_said": int(np.median(samples_said)) if samples_said else None,
    }


def planned_sample() -> int:
    """Customers per arm the module's formula asks for, from the true difference and variances of 20% vs
    30% (the closest rival) in the clear-best scenario."""
    from campaigns.discounts import sample_size_for_difference

    def variance(i: int) -> float:
        p, d = CLEAR[i], DEPTHS[i] / 100
        per_order = (MARGIN - d) * MEAN_VALUE
        second = per_order**2 * math.exp(SIGMA**2)  # E[(value x k)^2] of a buyer
        return p * second - (p * per_order) ** 2

    delta = _true_margin(CLEAR, 2) - _true_margin(CLEAR, 3)
    return math.ceil(sample_size_for_difference(variance(2), variance(3), delta, ALPHA, POWER))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()  # campaigns.discounts imports its models; no table is touched
    rng = np.random.default_rng(SEED)
    planned = planned_sample()
    result: dict[str, Any] = {
        "seed": SEED, "alpha": ALPHA, "power": POWER, "planned_per_arm": planned,
        "clear": [run(CLEAR, n, args.runs, rng) for n in (100, 300, 700, 1500)],
        "planned": run(CLEAR, planned, args.runs, rng),
        "tie": [run(TIE, n, args.runs, rng) for n in (300, 1500)],
    }
    print(f"{'scenario':<10} {'per arm':>8} {'right':>7} {'wrong':>7} {'not enough':>11} {'coverage':>9} {'n said':>8}")
    rows = [("clear", r) for r in result["clear"]] + [("planned", result["planned"])]
    rows += [("tie", r) for r in result["tie"]]
    for name, r in rows:
        print(
            f"{name:<10} {r['per_arm']:>8} {r['right_rate']:>7.3f} {r['wrong_rate']:>7.3f} "
            f"{r['not_enough_evidence_rate']:>11.3f} {r['coverage']:>9.3f} {r['median_sample_said'] or '-':>8}"
        )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
