"""Uplift model on a simulated experiment where each customer's true uplift is known:
`python -m evaluation.uplift [--customers N] [--seed S]`.

Four kinds of customer, decided by their features (so a model can learn who is who):
- sure things (high engagement): buy anyway, the offer adds nothing;
- persuadables (engaged browsers with carts, no recent order): the offer adds 15 points;
- sleeping dogs (many opens, reminded they can leave): the offer takes 8 points away;
- lost causes (everyone else): a low base rate, the offer adds 1 point.
Half are offered (treated), half held out; conversions are drawn from each customer's probability under
the arm they are in. The model (`campaigns.uplift_stats`, the code the training job runs) is fitted on
70% and judged on the other 30%: the share of the true incremental conversions (sum of true uplift) that
its top 20% captures, against 20% for random targeting and what ranking by the true uplift would capture,
with a bootstrap interval; plus the Qini
coefficient, AUUC and the top-slice table. Writes var/eval/uplift.json and the Qini curve as
var/eval/uplift_qini.svg. Seconds on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from campaigns import uplift_stats as us
from campaigns.charts import qini_svg

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "var" / "eval" / "uplift.json"
FIGURE = REPO / "var" / "eval" / "uplift_qini.svg"
FEATURES = ["engagement", "carts_30d", "days_since_order", "opens_30d", "noise"]


@dataclass
class Simulated:
    X: np.ndarray
    treated: np.ndarray
    converted: np.ndarray
    true_uplift: np.ndarray  # P(convert | offer) - P(convert | no offer), per customer
    kind: np.ndarray  # sure_thing, persuadable, sleeping_dog, lost_cause


def simulate(n: int = 20_000, seed: int = 0, treated_share: float = 0.5) -> Simulated:
    rng = np.random.default_rng(seed)
    engagement = rng.normal(size=n)
    carts = rng.poisson(np.exp(0.3 * engagement)).astype(float)
    days_since_order = rng.exponential(60, size=n)
    opens = rng.poisson(3, size=n).astype(float)
    noise = rng.normal(size=n)
    sure = engagement > 1.2
    dogs = ~sure & (opens >= 6)
    persuadable = ~sure & ~dogs & (carts >= 1) & (days_since_order > 30)
    kind = np.where(sure, "sure_thing", np.where(dogs, "sleeping_dog", np.where(persuadable, "persuadable",
                                                                                  "lost_cause")))
    base = np.where(sure, 0.6, np.where(persuadable, 0.05, np.where(dogs, 0.15, 0.03)))
    effect = np.where(sure, 0.0, np.where(persuadable, 0.15, np.where(dogs, -0.08, 0.01)))
    p0, p1 = base, np.clip(base + effect, 0, 1)
    treated = (rng.random(n) < treated_share).astype(int)
    converted = (rng.random(n) < np.where(treated == 1, p1, p0)).astype(int)
    X = np.column_stack([engagement, carts, days_since_order, opens, noise])
    return Simulated(X, treated, converted, p1 - p0, kind)


def run(n: int = 20_000, seed: int = 0, draws: int = us.BOOTSTRAP_DRAWS) -> dict[str, Any]:
    """Fit on the training part, judge on the held-out part; the numbers the report and the test read."""
    sim = simulate(n, seed)
    train, test = us.split(sim.treated, sim.converted, seed=seed)
    model = us.fit_uplift(sim.X[train], sim.treated[train], sim.converted[train], FEATURES, seed=seed)
    predicted = model.predict(sim.X[test])
    captured = us.captured_share(sim.true_uplift[test], predicted, us.JUDGED_FRACTION, draws=draws, seed=seed)
    oracle = us.captured_share(sim.true_uplift[test], sim.true_uplift[test], us.JUDGED_FRACTION, draws=1, seed=seed)
    report = us.evaluate(sim.converted[test], predicted, sim.treated[test])
    kinds = {k: int((sim.kind[test] == k).sum()) for k in ("sure_thing", "persuadable", "sleeping_dog", "lost_cause")}
    top = np.argsort(-predicted, kind="mergesort")[: int(np.ceil(us.JUDGED_FRACTION * len(test)))]
    top_kinds = {k: int((sim.kind[test][top] == k).sum()) for k in kinds}
    return {
        "customers": n, "seed": seed, "held_out": len(test),
        "captured_share_top20": {"share": captured.share, "low": captured.low, "high": captured.high,
                                 "random": captured.random_share, "oracle": oracle.share,
                                 "bootstrap_draws": captured.draws},
        "kinds_held_out": kinds, "kinds_in_top20": top_kinds,
        **report,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args.customers, args.seed)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2))
    FIGURE.write_text(str(qini_svg(result["qini_curve"], qini=result["qini_coefficient"], auuc=result["auuc"],
                                   title="Qini curve, simulated experiment (held-out 30%)")))
    c = result["captured_share_top20"]
    print(f"simulated experiment: {result['customers']} customers, held-out {result['held_out']}")
    print(f"top 20% by predicted uplift captures {c['share']:.1%} of the true incremental conversions "
          f"(95% bootstrap {c['low']:.1%} - {c['high']:.1%}); random targeting: {c['random']:.0%}; "
          f"knowing the true uplift: {c['oracle']:.1%}")
    print(f"Qini coefficient {result['qini_coefficient']:.3f}, AUUC {result['auuc']:.3f}")
    for row in result["top"]:
        print(f"  top {row['fraction']:.0%}: observed uplift {row['uplift']:+.3f} "
              f"[{row['low']:+.3f}, {row['high']:+.3f}] (treated {row['treated']}, control {row['control']})")
    print(f"kinds in the top 20%: {result['kinds_in_top20']} (held-out: {result['kinds_held_out']})")
    print(f"wrote {OUTPUT} and {FIGURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
