"""Does the experiment winner rule keep its promises? `python -m evaluation.experiments [--runs 1000]`.

Seeded simulations of whole experiments through the same code the platform runs (campaigns.experiment_stats):
customers are split by the real stable hash (`stable_unit` + `pick_index`, equal weights), each converts
with its arm's true rate, and the winner rule (Holm across arms, minimum sample, SRM, positive lift)
is applied once, at the planned sample size (no peeking):
- A/A (no true difference): how often a winner is declared (false positives), with a Wilson interval.
  The rule crowns only arms *better* than the control, so the target is alpha / 2 per comparison;
  "significant either way" (the two-sided test alone) should sit at alpha;
- one arm with a true lift equal to the MDE, at the planner's sample size: how often that arm wins
  (observed power) against the planned 0.8. With 3 arms the plan uses alpha / 2 (Holm's first step);
- SRM false alarms of the hash split (target 0.001);
- for contrast only, the same A/A data analysed at 10 interim looks, stopping at the first winner:
  the inflation that peeking causes, which is why the rule is meant to be read once at the end.
Prints a table and writes var/eval/experiments.json. Needs no data set and no database.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from campaigns import experiment_stats as st

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "var" / "eval" / "experiments.json"
SEED = 20250301
BASELINE = 0.05
MDE = 0.02
ALPHA = 0.05
POWER = 0.8
MINIMUM_SAMPLE = 200
LOOKS = 10


def _planned_n(arms: int) -> int:
    """Per-arm sample size for the rule: alpha split over the comparisons (Holm's strictest step)."""
    return math.ceil(st.sample_size_per_arm(BASELINE, MDE, ALPHA / (arms - 1), POWER))


def _run_one(run: int, rates: Sequence[float], n_per_arm: int, rng: np.random.Generator, looks: int) -> dict[str, Any]:
    """One experiment: hash split of k * n customers, Bernoulli conversions, the rule at the end (and at
    `looks` interim points when looks > 1)."""
    k = len(rates)
    total = k * n_per_arm
    weights = [1.0] * k
    arm_of = np.fromiter((st.pick_index(st.stable_unit(run, c), weights) for c in range(total)), np.int64, total)
    converted = rng.random(total) < np.asarray(rates)[arm_of]
    keys = [chr(ord("A") + i) for i in range(k)]

    def verdict_at(upto: int) -> tuple[st.Verdict, list[int], bool]:
        sizes = np.bincount(arm_of[:upto], minlength=k)
        wins = np.bincount(arm_of[:upto], weights=converted[:upto], minlength=k).astype(int)
        srm = st.sample_ratio_mismatch(sizes.tolist(), weights)
        arms = [st.ArmCounts(keys[i], int(wins[i]), int(sizes[i])) for i in range(k)]
        verdict = st.decide_winner(arms, "A", alpha=ALPHA, minimum_sample=MINIMUM_SAMPLE, srm_flagged=srm.flagged)
        return verdict, sizes.tolist(), srm.flagged

    final, _, srm_flagged = verdict_at(total)
    any_significant = any(p < ALPHA for p in final.adjusted_p.values())
    peeked_winner = None
    if looks > 1:
        for look in range(1, looks + 1):
            verdict, _, _ = verdict_at(total * look // looks)
            if verdict.winner is not None:
                peeked_winner = verdict.winner
                break
    return {
        "winner": final.winner,
        "any_significant": any_significant,
        "srm": srm_flagged,
        "peeked_winner": peeked_winner,
    }


def _row(scenario: str, target: str, results: list[dict[str, Any]], n: int, key: str, winner: str | None) -> dict:
    runs = len(results)
    hits = sum(1 for r in results if (r[key] is not None if winner is None else r[key] == winner))
    low, high = st.wilson_interval(hits, runs)
    return {
        "scenario": scenario,
        "runs": runs,
        "n_per_arm": n,
        "winner_rate": hits / runs,
        "ci": [low, high],
        "target": target,
        "significant_either_way": sum(r["any_significant"] for r in results) / runs,
        "srm_flag_rate": sum(r["srm"] for r in results) / runs,
    }


def simulate(runs: int = 1000, seed: int = SEED) -> dict[str, Any]:
    """All scenarios; each scenario gets its own seeded generator and its own hash ids (experiment ids)."""
    rng_root = np.random.SeedSequence(seed)
    children = rng_root.spawn(4)
    rows = []
    scenarios = [
        ("A/A, 2 arms", [BASELINE, BASELINE], None, f"<= alpha/2 = {ALPHA / 2}"),
        ("A/A, 3 arms (Holm)", [BASELINE] * 3, None, f"<= alpha/2 = {ALPHA / 2}"),
        ("lift = MDE, 2 arms", [BASELINE, BASELINE + MDE], "B", f"power {POWER}"),
        ("lift = MDE, 3 arms (Holm)", [BASELINE, BASELINE + MDE, BASELINE], "B", f"power {POWER}"),
    ]
    peeking: list[dict[str, Any]] = []
    for index, (name, rates, winner, target) in enumerate(scenarios):
        rng = np.random.default_rng(children[index])
        n = _planned_n(len(rates))
        looks = LOOKS if index == 0 else 1
        results = [_run_one(seed * 10 + index * 1_000_000 + run, rates, n, rng, looks) for run in range(runs)]
        rows.append(_row(name, target, results, n, "winner", winner))
        if index == 0:
            peeking = results
    peek = _row(
        f"A/A, 2 arms, {LOOKS} looks (peeking: NOT how to read the rule)",
        "inflated",
        peeking,
        _planned_n(2),
        "peeked_winner",
        None,
    )
    rows.append(peek)
    return {
        "seed": seed,
        "baseline": BASELINE,
        "mde": MDE,
        "alpha": ALPHA,
        "power": POWER,
        "minimum_sample": MINIMUM_SAMPLE,
        "correction": "holm",
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000, help="simulated experiments per scenario")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = simulate(args.runs, args.seed)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(
        f"baseline {BASELINE}, MDE {MDE} absolute, alpha {ALPHA} (Holm), power {POWER}, "
        f"minimum sample {MINIMUM_SAMPLE}, seed {args.seed}"
    )
    header = (
        f"{'scenario':<62} {'n/arm':>6} {'winner rate':>11} {'95% CI':>17} {'target':>18} "
        f"{'2-sided sig':>11} {'SRM':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        low, high = row["ci"]
        print(
            f"{row['scenario']:<62} {row['n_per_arm']:>6} {row['winner_rate']:>11.3f} "
            f"{f'[{low:.3f}, {high:.3f}]':>17} {row['target']:>18} {row['significant_either_way']:>11.3f} "
            f"{row['srm_flag_rate']:>6.3f}"
        )
    print(f"{args.runs} runs per scenario, {result['seconds']} s")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
