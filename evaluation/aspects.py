"""Aspect extraction on a held-out part of the SemEval-2014 laptop file: `python -m evaluation.aspects`.

A seeded 80/20 split by sentence (duplicate sentences stay on one side). The tagger trains on the 80%,
picking its epoch on a validation slice of that 80% only, and is scored on the 20%: precision, recall
and F1 of exact term matches (same start and end), micro over terms; the SemEval-style score (the set
of terms per sentence, case-insensitive) is given beside it. The unsupervised extractor is scored on
the same 20%, fitted on texts without labels: once on the 80% only, once on all texts (80% + 20%,
which is how it serves: fitted on the shop's reviews it then reads). Aspect polarity: accuracy on the
gold terms of the 20% with VADER and with the prototype classifier (the fallback of a shop without a
trained model) on the term's clause (`aspect_contexts`) against each on the whole sentence and the
majority class; "conflict" terms are left out (no classifier here outputs it).
Writes var/eval/aspects.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "semeval2014_laptops_train_aspects.csv"
OUTPUT = REPO / "var" / "eval" / "aspects.json"
POLARITIES = ("negative", "neutral", "positive")


def split_by_sentence(texts: Sequence[str], test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, test) indices; sentences with the same text (ignoring case and spacing) share a side."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        groups.setdefault(" ".join(text.lower().split()), []).append(index)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    cut = round(len(keys) * test_fraction)
    test = sorted(i for key in keys[:cut] for i in groups[key])
    train = sorted(i for key in keys[cut:] for i in groups[key])
    return train, test


def term_set_scores(texts: Sequence[str], gold: Sequence[Sequence[tuple[int, int]]], predicted: Sequence[Any]) -> dict:
    """SemEval-style: per sentence, the set of terms (lower case) predicted against the gold set."""
    tp = fp = fn = 0
    for text, spans, terms in zip(texts, gold, predicted, strict=True):
        truth = {text[s:e].lower() for s, e in spans}
        guess = {t.term.lower() for t in terms}
        tp, fp, fn = tp + len(truth & guess), fp + len(guess - truth), fn + len(truth - guess)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def vader_classifier() -> Callable[[list[str]], list[str]]:
    """VADER's compound score with its usual cut-offs (±0.05): a lexicon stand-in for the sentiment model."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def classify(texts: list[str]) -> list[str]:
        labels = []
        for text in texts:
            score = analyzer.polarity_scores(text)["compound"]
            labels.append("positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral")
        return labels

    return classify


def _accuracy(true: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    f1s = []
    for label in POLARITIES:
        tp = sum(t == p == label for t, p in zip(true, pred, strict=True))
        fp = sum(t != label and p == label for t, p in zip(true, pred, strict=True))
        fn = sum(t == label and p != label for t, p in zip(true, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {
        "accuracy": round(sum(t == p for t, p in zip(true, pred, strict=True)) / max(1, len(true)), 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "n": len(true),
    }


def prototype_classifier(embedder: Any) -> Callable[[list[str]], list[str]]:
    """The prototype sentiment classifier (the fallback a shop without a trained model serves)."""
    from inference.sentiment.prototypes import PrototypeSentiment

    model = PrototypeSentiment(embedder)
    return lambda texts: [p.label for p in model.predict(texts)]


def polarity_eval(
    sentences: Sequence[Any], classify: Callable[[list[str]], list[str]] | None = None, name: str = "vader"
) -> dict[str, Any]:
    from inference.aspects.polarity import aspect_polarities
    from inference.aspects.terms import AspectTerm

    classify = classify or vader_classifier()
    true: list[str] = []
    by_clause: list[str] = []
    by_sentence: list[str] = []
    mixed: list[int] = []  # terms of sentences whose terms disagree: where the clause should matter
    for sentence in sentences:
        kept = [(s, e, p) for s, e, p in sentence.terms if p in POLARITIES]
        if not kept:
            continue
        if len({p for _, _, p in kept}) > 1:
            mixed.extend(range(len(true), len(true) + len(kept)))
        terms = [AspectTerm(sentence.text[s:e], s, e) for s, e, _ in kept]
        true.extend(p for _, _, p in kept)
        by_clause.extend(aspect_polarities(sentence.text, terms, classify))
        by_sentence.extend(classify([sentence.text]) * len(kept))
    majority = Counter(true).most_common(1)[0][0] if true else "positive"

    def subset(labels: list[str]) -> dict[str, float]:
        return _accuracy([true[i] for i in mixed], [labels[i] for i in mixed])

    return {
        f"{name}_on_clause": _accuracy(true, by_clause),
        f"{name}_on_sentence": _accuracy(true, by_sentence),
        f"majority_{majority}": _accuracy(true, [majority] * len(true)),
        f"{name}_on_clause_mixed_sentences": subset(by_clause),
        f"{name}_on_sentence_mixed_sentences": subset(by_sentence),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from catalog.aspect_training import read_aspect_csv
    from core.progress import TqdmProgress
    from inference.aspects.noun_phrases import UnsupervisedAspectExtractor
    from inference.aspects.tagger import AspectTagger
    from inference.aspects.training import span_scores, train_aspect_tagger
    from inference.embedding import Embedder

    dataset = read_aspect_csv(args.data)
    sentences = dataset.sentences
    train_idx, test_idx = split_by_sentence([s.text for s in sentences], 0.2, args.seed)
    train = [sentences[i] for i in train_idx]
    test = [sentences[i] for i in test_idx]
    test_texts = [s.text for s in test]
    test_gold = [s.spans for s in test]
    report: dict[str, Any] = {
        "data": {**dataset.summary(), "file": args.data.name},
        "split": {
            "seed": args.seed,
            "train_sentences": len(train),
            "train_terms": sum(len(s.terms) for s in train),
            "test_sentences": len(test),
            "test_terms": sum(len(s.terms) for s in test),
        },
        "results": {},
    }
    results = report["results"]

    if not args.skip_tagger:
        with tempfile.TemporaryDirectory() as folder, TqdmProgress("step", disable=not args.verbose) as progress:
            started = time.monotonic()
            trained = train_aspect_tagger(
                [(s.text, s.spans) for s in train],
                Path(folder) / "tagger",
                epochs=args.epochs,
                seed=args.seed,
                learning_rate=args.learning_rate,
                progress=progress,
            )
            seconds = time.monotonic() - started
            tagger = AspectTagger(trained.path)
            started = time.monotonic()
            predicted = tagger.extract(test_texts)
            extract_seconds = time.monotonic() - started
        results["tagger"] = {
            **span_scores(test_gold, predicted),
            "term_set": term_set_scores(test_texts, test_gold, predicted),
            "validation": trained.metrics,
            "history": trained.history,
            "params": trained.params,
            "train_seconds": round(seconds, 1),
            "extract_sentences_per_second": round(len(test_texts) / max(extract_seconds, 1e-9), 1),
        }

    if not args.skip_unsupervised:
        embedder = Embedder()
        for label, corpus in (
            ("unsupervised_fit_on_train_texts", [s.text for s in train]),
            ("unsupervised_fit_on_all_texts", [s.text for s in sentences]),
        ):
            started = time.monotonic()
            extractor = UnsupervisedAspectExtractor(embedder=embedder, drop_settings=not args.keep_settings).fit(corpus)
            predicted = extractor.extract(test_texts)
            results[label] = {
                **span_scores(test_gold, predicted),
                "term_set": term_set_scores(test_texts, test_gold, predicted),
                "aspects_found": len(extractor.frequency),
                "seconds": round(time.monotonic() - started, 1),
                "top_aspects": sorted(extractor.frequency, key=lambda t: -extractor.frequency[t])[:25],
            }

    report["polarity"] = polarity_eval(test)
    if not args.skip_prototypes:
        report["polarity"].update(polarity_eval(test, prototype_classifier(Embedder()), "prototypes"))
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        f"aspect terms, held-out {report['split']['test_sentences']} sentences / "
        f"{report['split']['test_terms']} terms (exact span match, micro)",
        f"{'extractor':<34} {'P':>6} {'R':>6} {'F1':>6}   {'term-set F1':>11}",
    ]
    for name, row in report["results"].items():
        scores = f"{row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f}"
        lines.append(f"{name:<34} {scores}   {row['term_set']['f1']:>11.3f}")
    if "tagger" in report["results"]:
        lines.append(f"tagger training: {report['results']['tagger']['train_seconds']:.0f} s")
    lines.append("")
    lines.append("aspect polarity on the gold terms of the held-out sentences ('conflict' left out);")
    lines.append("'mixed': sentences whose terms differ in polarity, where the term's clause should beat the sentence")
    lines.append(f"{'classifier':<34} {'acc':>6} {'macroF1':>8} {'n':>5}")
    for name, row in report["polarity"].items():
        lines.append(f"{name:<34} {row['accuracy']:>6.3f} {row['macro_f1']:>8.3f} {row['n']:>5}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-tagger", action="store_true")
    parser.add_argument("--skip-unsupervised", action="store_true")
    parser.add_argument("--skip-prototypes", action="store_true", help="no polarity by the prototype classifier")
    parser.add_argument(
        "--keep-settings", action="store_true", help="unsupervised: keep nouns of a verb's locative/temporal phrase"
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"aspects: skipped, {args.data} is absent")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()  # the reader lives in catalog; no table is touched
    report = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
