"""Chinese review sentiment: `python -m evaluation.chinese_sentiment`.

On online_shopping_10_cats_dev.csv (10 categories, label 1 positive / 0 negative), a seeded split
stratified by category and label: 20% of the rows that are not in snownlp's training corpus are the test
set; everything else trains. The rows marked `in_snownlp_corpus` never enter the test set, because
snownlp's bundled model has seen them (and the held-out judging set has none of them).

Compared on the same test rows, per category and overall (accuracy and binary macro-F1):
- the character n-gram model (`inference.sentiment.ngram`, what `train_sentiment` trains for Chinese),
- the prototype classifier on the packaged MiniLM (what served Chinese before),
- snownlp 0.12.3's bundled Bayes model (P(positive) >= 0.5).
Also: the regularisation grid on a validation slice of the training part (how C was chosen), a learning
curve (how many labelled reviews the n-gram model needs) and training times. Prints tables, writes
var/eval/chinese_sentiment.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
FILE = "online_shopping_10_cats_dev.csv"
OUTPUT = REPO / "var" / "eval" / "chinese_sentiment.json"
SEED = 20240611
TEST_FRACTION = 0.2
GRID = (1.0, 4.0, 16.0)
CURVE = (100, 300, 1000, 3000, 10000)


def read_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(16 * 1024 * 1024)
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if (row.get("review") or "").strip()]


def split(rows: Sequence[dict[str, str]], seed: int) -> tuple[list[int], list[int], list[int]]:
    """(train, test, test_in_snownlp) row indices: TEST_FRACTION of each (category, label, in snownlp's
    corpus) group is held out; the held-out rows of snownlp's corpus are a second test set on which
    snownlp is not measured (it has seen them; the judging set has none of them)."""
    rng = random.Random(seed)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[(row["cat"], row["label"], row["in_snownlp_corpus"])].append(i)
    train: list[int] = []
    test: list[int] = []
    seen: list[int] = []
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        take = round(len(members) * TEST_FRACTION)
        (seen if key[2] == "1" else test).extend(members[:take])
        train += members[take:]
    return sorted(train), sorted(test), sorted(seen)


def label(value: str) -> str:
    return "positive" if value == "1" else "negative"


def scores(true: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    macro = f1_score(true, pred, average="macro", labels=["negative", "positive"], zero_division=0)
    return {"accuracy": round(float(accuracy_score(true, pred)), 4), "macro_f1": round(float(macro), 4),
            "n": len(true)}


def per_category(rows: Sequence[dict[str, str]], test: Sequence[int], pred: Sequence[str]) -> dict[str, Any]:
    by_cat: dict[str, list[int]] = defaultdict(list)
    for position, i in enumerate(test):
        by_cat[rows[i]["cat"]].append(position)
    true = [label(rows[i]["label"]) for i in test]
    result = {cat: scores([true[p] for p in ps], [pred[p] for p in ps]) for cat, ps in sorted(by_cat.items())}
    result["all"] = scores(true, pred)
    return result


def binary(predictions: Sequence[Any]) -> list[str]:
    from inference.sentiment.classifier import binary_label

    return [binary_label(p) for p in predictions]


def train_ngram(
    texts: Sequence[str], labels: Sequence[str], folder: Path, c: float | None = None
) -> tuple[Any, float]:
    """Fit on all of `texts` (no inner validation), save, load back: the serving path. (model, seconds)"""
    from inference.sentiment import ngram

    started = time.monotonic()
    if c is not None:
        ngram.C = c  # the grid only; the module's constant is what training uses
    vectorizer, model = ngram.fit_ngram(texts, labels)
    ngram.save_ngram(vectorizer, model, folder, {"name": folder.name, "language": "zh"})
    return ngram.NgramSentiment(folder), round(time.monotonic() - started, 1)


class SnowNLP:
    version = "snownlp-0.12.3"

    def predict_labels(self, texts: Sequence[str]) -> list[str]:
        from snownlp import SnowNLP as Analyzer

        return ["positive" if Analyzer(text).sentiments >= 0.5 else "negative" for text in texts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding the development CSV")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quick", action="store_true", help="a 3,000-row sample: a smoke run")
    parser.add_argument("--skip", nargs="*", default=[], choices=["prototypes", "snownlp", "grid", "curve"])
    args = parser.parse_args(argv)
    path = args.data / FILE
    if not path.is_file():
        print(f"chinese sentiment: skipped, {path} is not there")
        return 0
    rows = read_rows(path)
    if args.quick:
        rows = random.Random(args.seed).sample(rows, 3000)
    train, test, seen = split(rows, args.seed)
    texts = [row["review"] for row in rows]
    labels = [label(row["label"]) for row in rows]
    test_texts = [texts[i] for i in test]
    report: dict[str, Any] = {"file": FILE, "seed": args.seed, "train": len(train), "test": len(test),
                              "test_in_snownlp_corpus": len(seen), "models": {}, "models_on_snownlp_rows": {},
                              "seconds": {}}
    seen_texts = [texts[i] for i in seen]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model, seconds = train_ngram([texts[i] for i in train], [labels[i] for i in train], folder / "ngram")
        report["seconds"]["ngram_train"] = seconds
        started = time.monotonic()
        report["models"]["char n-gram"] = per_category(rows, test, binary(model.predict(test_texts)))
        report["seconds"]["ngram_predict"] = round(time.monotonic() - started, 1)
        if seen:
            predicted = binary(model.predict(seen_texts))
            report["models_on_snownlp_rows"]["char n-gram"] = per_category(rows, seen, predicted)
        if "grid" not in args.skip:
            report["grid"] = grid([texts[i] for i in train], [labels[i] for i in train], folder, args.seed)
        if "curve" not in args.skip:
            report["curve"] = curve(texts, labels, train, test, folder, args.seed)
    if "snownlp" not in args.skip:
        started = time.monotonic()
        report["models"]["snownlp"] = per_category(rows, test, SnowNLP().predict_labels(test_texts))
        report["seconds"]["snownlp_predict"] = round(time.monotonic() - started, 1)
    if "prototypes" not in args.skip:
        from inference.embedding import Embedder
        from inference.sentiment.prototypes import PrototypeSentiment

        started = time.monotonic()
        prototypes = PrototypeSentiment(Embedder())
        report["models"]["prototypes"] = per_category(rows, test, binary(prototypes.predict(test_texts)))
        report["seconds"]["prototypes_predict"] = round(time.monotonic() - started, 1)
        if seen:
            report["models_on_snownlp_rows"]["prototypes"] = per_category(
                rows, seen, binary(prototypes.predict(seen_texts))
            )
    print_report(report)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"wrote {OUTPUT}")
    return 0


def grid(texts: Sequence[str], labels: Sequence[str], folder: Path, seed: int) -> dict[str, Any]:
    """Macro-F1 per C on a stratified 15% validation slice of the training part (never the test set)."""
    from inference.sentiment import ngram

    fit, val = ngram.split_rows(labels, 0.15, seed)
    default, results = ngram.C, {}
    try:
        for c in GRID:
            model, seconds = train_ngram([texts[i] for i in fit], [labels[i] for i in fit], folder / f"c{c}", c)
            predicted = binary(model.predict([texts[i] for i in val]))
            results[str(c)] = {**scores([labels[i] for i in val], predicted), "seconds": seconds}
    finally:
        ngram.C = default
    return results


def curve(
    texts: Sequence[str], labels: Sequence[str], train: Sequence[int], test: Sequence[int], folder: Path, seed: int
) -> dict[str, Any]:
    """Test scores when the n-gram model sees only n training reviews (a random sample)."""
    rng = random.Random(seed)
    results = {}
    for n in CURVE:
        if n > len(train):
            break
        sample = rng.sample(list(train), n)
        model, seconds = train_ngram([texts[i] for i in sample], [labels[i] for i in sample], folder / f"n{n}")
        predicted = binary(model.predict([texts[i] for i in test]))
        results[str(n)] = {**scores([labels[i] for i in test], predicted), "seconds": seconds}
    return results


def print_report(report: dict[str, Any]) -> None:
    print(f"train {report['train']} rows, test {report['test']} rows (none in snownlp's corpus)")
    print_table(report["models"])
    if report.get("models_on_snownlp_rows"):
        print(f"held-out rows of snownlp's corpus ({report['test_in_snownlp_corpus']}; snownlp has seen them)")
        print_table(report["models_on_snownlp_rows"])
    for section in ("grid", "curve"):
        for key, s in report.get(section, {}).items():
            print(f"{section} {key:>6}: accuracy {s['accuracy']:.4f} macro-F1 {s['macro_f1']:.4f} "
                  f"({s['seconds']} s to train)")
    print("seconds:", report["seconds"])


def print_table(models: dict[str, Any]) -> None:
    categories = list(next(iter(models.values())))
    header = f"{'category':<8}{'n':>6}" + "".join(f"{name:>26}" for name in models)
    print(header)
    print(f"{'':<14}" + "".join(f"{'accuracy  macro-F1':>26}" for _ in models))
    for cat in categories:
        line = f"{cat:<8}{models[next(iter(models))][cat]['n']:>6}"
        for name in models:
            s = models[name][cat]
            line += f"{s['accuracy']:>16.4f}{s['macro_f1']:>10.4f}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
