"""Which fusion of the recommendation sources holds on later time windows: `python -m evaluation.fusion`.

Rolling windows, each trained on everything before its start and tested on what users did in it:
- Online Retail (dev part, 2010-12-01..13, invoices as baskets, non-product codes dropped): four windows of
  two trading days, starting 12-05, 12-07, 12-09 and 12-12; the targets are each returning customer's stock
  codes new to them in the window;
- MovieLens small: five windows between the 50/60/70/80/90% quantiles of the ratings' timestamps (the last
  one to the end); the targets are each returning user's next NEXT_ITEMS new films in the window.
Only users with history before the window count (nobody is sampled: every window has under 50 such users).

Every window fits the six sources once (content from the item texts' embeddings) and scores, on the same
users: each source alone (popularity is the baseline), score fusion with equal weights on per-user
normalised scores (min-max, z, rank), reciprocal-rank fusion with equal weights (k=60, and k tuned on the
validation windows), the current coarse weight search ({0, 0.5, 1, 2}, RRF, starting from its old
defaults), the same search on min-max score fusion from equal weights, and searches shrunk towards equal
weights by the validation sample size (`fusion.shrink_weights`: n / (n + 200), equal below 30 users).
Searches and the tuned k use three validation windows cut from the window's own training part (never its
test). Recall@10 and NDCG@10 with bootstrap 95% intervals over users (B=1000, seeded by --seed, 42), the ratio to
popularity's Recall@10 per window (paired bootstrap interval), and per method across windows: the mean
ratio, the windows where it beats popularity, and its wins (best fusion of the window, ties count).
Prints one table; writes var/eval/fusion.json. A run took 4 minutes on 2 shared cores (100 s of it embedding
the MovieLens titles; `--no-content` skips the content source and takes about one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
OUTPUT = REPO / "var" / "eval" / "fusion.json"
RETAIL = "online_retail_train.csv"
MOVIELENS = "movielens_latest_small"
RETAIL_WINDOWS = (("2010-12-05", "2010-12-07"), ("2010-12-07", "2010-12-09"), ("2010-12-09", "2010-12-12"),
                  ("2010-12-12", "2010-12-14"))
MOVIELENS_QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.9)
NEXT_ITEMS = 20
RRF_K_GRID = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
BOOTSTRAP = 1000
VALIDATION_WINDOWS = 3
SOURCES = ("popularity", "trending", "als", "item_item", "co_purchase", "content")
FUSIONS = ("score:minmax", "score:z", "score:rank", "rrf:60", "rrf:tuned-k", "search (current)",
           "search rrf shrunk", "search score:minmax", "search score:minmax shrunk",
           "search score:rank shrunk")


@dataclass
class Window:
    label: str
    start: float
    end: float | None


def _bootstrap(values: np.ndarray, base: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Mean with a 95% percentile interval, and the ratio of means to `base` with a paired interval."""
    n = values.size
    idx = rng.integers(0, n, size=(BOOTSTRAP, n))
    means = values[idx].mean(axis=1)
    base_means = base[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(base_means > 0, means / base_means, np.nan)
    mean, base_mean = float(values.mean()), float(base.mean())
    return {
        "mean": mean,
        "low": float(np.percentile(means, 2.5)),
        "high": float(np.percentile(means, 97.5)),
        "ratio": mean / base_mean if base_mean > 0 else float("nan"),
        "ratio_low": float(np.nanpercentile(ratios, 2.5)) if np.isfinite(ratios).any() else float("nan"),
        "ratio_high": float(np.nanpercentile(ratios, 97.5)) if np.isfinite(ratios).any() else float("nan"),
    }


def _per_user(
    rankings: dict[str, list[str]], targets: dict[str, set[str]], users: list[str], k: int
) -> dict[str, np.ndarray]:
    from recommendations.engine.metrics import ndcg_at_k, recall_at_k

    return {
        "recall": np.array([recall_at_k(rankings.get(u, []), targets[u], k) for u in users]),
        "ndcg": np.array([ndcg_at_k(rankings.get(u, []), targets[u], k) for u in users]),
    }


def evaluate_window(
    dataset: Any, window: Window, vectors: tuple[np.ndarray, list[str]] | None, k: int, seed: int,
    next_items: int | None, log: Callable[[str], None],
) -> dict[str, Any]:
    """Every source and fusion on one window: per-method means, intervals and ratios to popularity."""
    from recommendations.engine.data import DAY
    from recommendations.engine.fusion import RRF_60, FusionMethod, shrink_weights
    from recommendations.engine.hybrid import (
        DEFAULT_WEIGHTS,
        HybridRecommender,
        default_sources,
        tune_weights,
        window_lists,
    )
    from recommendations.engine.splits import cutoff_split, cutoff_windows

    started = time.perf_counter()
    split = cutoff_split(dataset, window.start, window.end, window.label, next_items=next_items)
    with_content = vectors is not None

    def make() -> HybridRecommender:
        return HybridRecommender(default_sources(with_content=with_content, seed=seed), weights=DEFAULT_WEIGHTS)

    test = window_lists(split, make, vectors)
    end = window.end if window.end is not None else dataset.max_time + 1.0
    horizon_days = (end - window.start) / DAY
    validation = cutoff_windows(split.train, horizon_days, VALIDATION_WINDOWS, next_items=next_items)
    prepared = [window_lists(w, make, vectors) for w in validation]
    validation_users = sum(len(w.targets) for w in validation)
    equal = {name: 1.0 for name in make().sources if with_content or name != "content"}

    rankings: dict[str, dict[str, list[str]]] = {}
    for name in SOURCES:
        if name in equal:
            rankings[name] = {u: [test.items[i] for i, _ in per.get(name, [])[:k]] for u, per in test.lists.items()}
    for label in ("score:minmax", "score:z", "score:rank", "rrf:60"):
        rankings[label] = test.rankings(equal, k, FusionMethod.parse(label))
    chosen: dict[str, Any] = {"validation_users": [len(w.targets) for w in validation]}
    if prepared:
        sizes = np.array([max(len(w.split.targets), 1) for w in prepared], dtype=np.float64)
        best_k = max(RRF_K_GRID, key=lambda rk: (
            float(np.average([p.score(equal, k, FusionMethod("rrf", k=rk), f"ndcg@{k}") for p in prepared],
                             weights=sizes)), -abs(rk - 60.0)))
        searched = tune_weights(validation, make, k=k, prepared=prepared, method=RRF_60).weights
        score_searched = tune_weights(validation, make, k=k, prepared=prepared, method=FusionMethod("score"),
                                      start=equal).weights
        rank_searched = tune_weights(validation, make, k=k, prepared=prepared, method=FusionMethod("score", "rank"),
                                     start=equal).weights
    else:  # no validation window: nothing to search, the searches stay where they start
        best_k, searched, score_searched, rank_searched = 60.0, dict(equal), dict(equal), dict(equal)
    shrunk = shrink_weights(searched, validation_users)
    score_shrunk = shrink_weights(score_searched, validation_users)
    rank_shrunk = shrink_weights(rank_searched, validation_users)
    chosen.update({"rrf_k": best_k, "search (current)": searched, "search rrf shrunk": _round(shrunk),
                   "search score:minmax": score_searched, "search score:minmax shrunk": _round(score_shrunk),
                   "search score:rank": rank_searched, "search score:rank shrunk": _round(rank_shrunk)})
    rankings["rrf:tuned-k"] = test.rankings(equal, k, FusionMethod("rrf", k=best_k))
    rankings["search (current)"] = test.rankings(searched, k, RRF_60)
    rankings["search rrf shrunk"] = test.rankings(shrunk, k, RRF_60)
    rankings["search score:minmax"] = test.rankings(score_searched, k, FusionMethod("score"))
    rankings["search score:minmax shrunk"] = test.rankings(score_shrunk, k, FusionMethod("score"))
    rankings["search score:rank shrunk"] = test.rankings(rank_shrunk, k, FusionMethod("score", "rank"))

    users = sorted(u for u in split.targets if split.targets[u])
    per_user = {name: _per_user(r, split.targets, users, k) for name, r in rankings.items()}
    base = per_user["popularity"]["recall"]
    methods: dict[str, Any] = {}
    for name, values in per_user.items():
        rng = np.random.default_rng(seed)  # the same resamples for every method: paired intervals
        recall = _bootstrap(values["recall"], base, rng)
        rng = np.random.default_rng(seed)
        ndcg = _bootstrap(values["ndcg"], per_user["popularity"]["ndcg"], rng)
        methods[name] = {"recall": recall, "ndcg": ndcg}
    seconds = time.perf_counter() - started
    log(f"{window.label}: {len(users)} users, validation {chosen['validation_users']}, {seconds:.1f} s")
    return {"window": window.label, "users": len(users), "train_rows": int(split.train.row_time.size),
            "methods": methods, "chosen": chosen, "seconds": round(seconds, 1)}


def _round(weights: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 3) for name, value in weights.items()}


def summary(windows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per method across windows: mean ratio to popularity (recall), windows beating popularity, wins."""
    names = list(windows[0]["methods"]) if windows else []
    out: dict[str, dict[str, float]] = {}
    for name in names:
        ratios = [w["methods"][name]["recall"]["ratio"] for w in windows]
        out[name] = {
            "mean_ratio": float(np.nanmean(ratios)),
            "mean_recall": float(np.mean([w["methods"][name]["recall"]["mean"] for w in windows])),
            "mean_ndcg": float(np.mean([w["methods"][name]["ndcg"]["mean"] for w in windows])),
            "beats_popularity": int(sum(1 for r in ratios if r > 1.0)),
            "wins": 0,
            "windows": len(windows),
        }
    for w in windows:
        best = max(w["methods"][f]["recall"]["mean"] for f in FUSIONS)
        for f in FUSIONS:
            if w["methods"][f]["recall"]["mean"] >= best - 1e-12:
                out[f]["wins"] += 1
    return out


def table(report: dict[str, Any]) -> str:
    """The one table: every window's methods, then the summary rows per dataset and over all windows."""
    lines = [f"{'dataset':<13} {'window':<24} {'users':>5} {'method':<27} {'Recall@10 [95% CI]':>24} "
             f"{'x popularity [95% CI]':>22} {'NDCG@10 [95% CI]':>24}"]
    for dataset, block in report["datasets"].items():
        for w in block["windows"]:
            for name, m in w["methods"].items():
                r, n = m["recall"], m["ndcg"]
                lines.append(
                    f"{dataset:<13} {w['window']:<24} {w['users']:>5} {name:<27} "
                    f"{r['mean']:.4f} [{r['low']:.4f}, {r['high']:.4f}] "
                    f"{r['ratio']:5.2f} [{r['ratio_low']:4.2f}, {r['ratio_high']:5.2f}] "
                    f"{n['mean']:.4f} [{n['low']:.4f}, {n['high']:.4f}]"
                )
    lines.append("")
    lines.append(f"{'summary':<13} {'windows':<24} {'':>5} {'method':<27} {'mean Recall@10':>14} "
                 f"{'mean x pop':>10} {'beats pop':>9} {'wins':>5} {'mean NDCG@10':>12}")
    for scope, rows in report["summary"].items():
        for name, s in rows.items():
            lines.append(
                f"{scope:<13} {s['windows']!s:<24} {'':>5} {name:<27} {s['mean_recall']:>14.4f} "
                f"{s['mean_ratio']:>10.2f} {s['beats_popularity']:>5}/{s['windows']:<3} "
                f"{s['wins']:>5} {s['mean_ndcg']:>12.4f}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-content", action="store_true", help="Skip embedding item texts (no content source).")
    args = parser.parse_args(argv)
    if not (args.data / RETAIL).exists() and not (args.data / MOVIELENS).exists():
        print(f"fusion: skipped, {args.data} has neither {RETAIL} nor {MOVIELENS}")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()  # the embedder reads its folder from settings; no table is touched
    from inference import registry
    from recommendations.engine.offline import ONLINE_RETAIL_NON_PRODUCTS, parse_cutoff, read_interactions

    embed = None if args.no_content else registry.embedder().encode
    say: Callable[[str], None] = lambda m: print(f"  {m}", flush=True)  # noqa: E731
    report: dict[str, Any] = {"k": args.k, "seed": args.seed, "bootstrap": BOOTSTRAP, "datasets": {}, "summary": {}}
    started = time.perf_counter()
    runs: list[tuple[str, Path, dict[str, Any]]] = [
        ("online_retail", args.data / RETAIL, {
            "user_column": "CustomerID", "item_column": "StockCode", "time_column": "InvoiceDate",
            "basket_column": "InvoiceNo", "weight_column": "Quantity", "item_text_column": "Description",
            "exclude_items": ONLINE_RETAIL_NON_PRODUCTS,
        }),
        ("movielens", args.data / MOVIELENS / "ratings.csv", {
            "user_column": "userId", "item_column": "movieId", "time_column": "timestamp",
            "item_text_column": "title,genres", "items_file": args.data / MOVIELENS / "movies.csv",
            "items_key": "movieId",
        }),
    ]
    for name, path, reading in runs:
        if not path.exists():
            print(f"{name}: skipped, {path} is absent")
            continue
        interactions = read_interactions(path, **reading)
        if interactions.weights is not None:
            interactions.weights[:] = 1.0  # Quantity only drops cancellations: 24 napkins are not 24 preferences
        dataset = interactions.dataset()
        if name == "online_retail":
            windows = [Window(f"{a}..{b}", parse_cutoff(a), parse_cutoff(b)) for a, b in RETAIL_WINDOWS]
            next_items = None
        else:
            starts = [float(np.quantile(dataset.row_time, q)) for q in MOVIELENS_QUANTILES]
            ends: list[float | None] = [*starts[1:], None]
            windows = [Window(f"{_day(a)}..{_day(b) if b else 'end'}", a, b) for a, b in zip(starts, ends, strict=True)]
            next_items = NEXT_ITEMS
        vectors = None
        if embed is not None and interactions.texts:
            t0 = time.perf_counter()
            ids = [item for item in dataset.items if item in interactions.texts]
            vectors = (np.asarray(embed([interactions.texts[i] for i in ids]), dtype=np.float32), ids)
            say(f"{name}: embedded {len(ids)} item texts in {time.perf_counter() - t0:.1f} s")
        results = [evaluate_window(dataset, w, vectors, args.k, args.seed, next_items, say) for w in windows]
        report["datasets"][name] = {"windows": results, "next_items": next_items}
        report["summary"][name] = summary(results)
    everything = [w for block in report["datasets"].values() for w in block["windows"]]
    if len(report["datasets"]) > 1:
        report["summary"]["all"] = summary(everything)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(table(report))
    overall = report["summary"].get("all") or next(iter(report["summary"].values()))
    winner = max(FUSIONS, key=lambda f: (overall[f]["wins"], overall[f]["mean_ratio"]))
    report["winner"] = winner
    print(f"\nwinner across windows (most wins, then mean ratio): {winner}; {report['seconds']} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"written to {args.output}")
    return 0


def _day(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds or 0.0, UTC).strftime("%Y-%m-%d")


if __name__ == "__main__":
    sys.exit(main())
