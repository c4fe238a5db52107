"""Aspect extraction on a held-out part of the SemEval-2014 laptop file: `python -m evaluation.aspects`.

A seeded 80/20 split by sentence (duplicate sentences stay on one side). The tagger trains on the 80%,
picking its epoch on a validation slice of that 80% only, and is scored on the 20%: precision, recall
and F1 of exact term matches (same start and end), micro over terms; the SemEval-style score (the set
of terms per sentence, case-insensitive) is given beside it. The unsupervised extractor is scored on
the same 20%, fitted on texts without labels: once on the 80% only, once on all texts (80% + 20%,
which is how it serves: fitted on the shop's reviews it then reads). The tagger trains with its
polarity head (the 80%'s polarity labels) unless --no-polarity-head.

Aspect polarity, "conflict" terms left out (no method here outputs it): accuracy and macro-F1 on the
gold terms of the 20% for the head, for the clause method (`aspect_contexts`) with the sentiment
classifier that serves without training (prototypes) and with VADER, for the whole sentence with
either, and for the majority class; then the same on the terms the tagger extracted: accuracy on the
extracted terms that match a gold term, and an end-to-end F1 where a term counts only with its right
polarity. Accuracy per phenomenon (negation, contrast, comparison words in the sentence) and sample
sentences show where the methods differ. Writes var/eval/aspects.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
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
# words that mark the sentences where a clause's sentiment goes wrong most (rough, for a breakdown)
PHENOMENA = {
    "negation": re.compile(r"\b(?:not|no|never|nothing|nowhere|none|without|hardly|cannot)\b|n't\b", re.I),
    "contrast": re.compile(r"\b(?:but|however|although|though|except|whereas|yet)\b", re.I),
    "comparison": re.compile(r"\b(?:than|compared|better|worse|more|less|faster|slower)\b", re.I),
}
Classify = Callable[[list[str]], list[str]]


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


def prototype_classify() -> Classify:
    """The sentiment classifier that serves before any training (labelled example sentences on the
    packaged embedder): what the clause method uses on a fresh install."""
    from inference.embedding import Embedder
    from inference.sentiment.prototypes import PrototypeSentiment

    classifier = PrototypeSentiment(Embedder())

    def classify(texts: list[str]) -> list[str]:
        return [p.label for p in classifier.predict(texts)] if texts else []

    return classify


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


def _accuracy(true: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    from inference.aspects.training import polarity_scores

    return polarity_scores(true, pred)


def _kept(sentence: Any) -> list[tuple[int, int, str]]:
    return [(s, e, p) for s, e, p in sentence.terms if p in POLARITIES]


def polarity_methods(vader: Classify, prototypes: Classify | None) -> dict[str, tuple[str, Classify]]:
    """Name -> (what the classifier reads: "clause" or "sentence", classify)."""
    methods = {"vader_on_clause": ("clause", vader), "vader_on_sentence": ("sentence", vader)}
    if prototypes is not None:
        methods |= {"prototypes_on_clause": ("clause", prototypes), "prototypes_on_sentence": ("sentence", prototypes)}
    return methods


def _method_labels(
    reads: str, classify: Classify, texts: Sequence[str], terms: Sequence[Sequence[Any]]
) -> list[list[str]]:
    """One label per term of each text, by `classify` on the term's clause or on the whole text."""
    from inference.aspects.polarity import batch_aspect_polarities

    if reads == "clause":
        return batch_aspect_polarities(texts, terms, classify)
    with_terms = [i for i, group in enumerate(terms) if group]
    labels = classify([texts[i] for i in with_terms]) if with_terms else []
    result: list[list[str]] = [[] for _ in texts]
    for i, label in zip(with_terms, labels, strict=True):
        result[i] = [label] * len(terms[i])
    return result


def polarity_eval(
    sentences: Sequence[Any],
    vader: Classify | None = None,
    prototypes: Classify | None = None,
    head: Any = None,
    examples: int = 0,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(scores per method on the gold terms, the same per phenomenon, sample sentences)."""
    from inference.aspects.terms import AspectTerm

    methods = polarity_methods(vader or vader_classifier(), prototypes)
    kept = [(s, _kept(s)) for s in sentences]
    kept = [(s, terms) for s, terms in kept if terms]
    texts = [s.text for s, _ in kept]
    terms = [[AspectTerm(s.text[a:b], a, b) for a, b, _ in group] for s, group in kept]
    true = [p for _, group in kept for _, _, p in group]
    labels: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    for name, (reads, classify) in methods.items():
        started = time.monotonic()
        labels[name] = [label for group in _method_labels(reads, classify, texts, terms) for label in group]
        seconds[name] = round(time.monotonic() - started, 1)
    if head is not None:
        started = time.monotonic()
        spans = [[(t.start, t.end) for t in group] for group in terms]
        labels["head"] = [label for group in head.span_polarities(texts, spans) for label in group]
        seconds["head"] = round(time.monotonic() - started, 1)
    majority = Counter(true).most_common(1)[0][0] if true else "positive"
    labels[f"majority_{majority}"] = [majority] * len(true)

    owner = [i for i, (_, group) in enumerate(kept) for _ in group]
    mixed = [j for j, i in enumerate(owner) if len({p for _, _, p in kept[i][1]}) > 1]

    def subset(name: str, members: Sequence[int]) -> dict[str, Any]:
        return _accuracy([true[j] for j in members], [labels[name][j] for j in members])

    report: dict[str, Any] = {}
    for name in labels:
        report[name] = _accuracy(true, labels[name]) | ({"seconds": seconds[name]} if name in seconds else {})
    for name in ("vader_on_clause", "vader_on_sentence", "prototypes_on_clause", "prototypes_on_sentence", "head"):
        if name in labels:
            report[f"{name}_mixed_sentences"] = subset(name, mixed)
    phenomena: dict[str, Any] = {}
    for phenomenon, pattern in PHENOMENA.items():
        members = [j for j, i in enumerate(owner) if pattern.search(texts[i])]
        phenomena[phenomenon] = {name: subset(name, members) for name in labels if not name.startswith("majority")}
    samples: list[dict[str, Any]] = []
    if examples:
        rng = random.Random(0)
        wanted = [i for i, (_, group) in enumerate(kept) if any(p.search(texts[i]) for p in PHENOMENA.values())]
        rng.shuffle(wanted)
        for i in sorted(wanted[:examples]):
            first = owner.index(i)
            samples.append({
                "text": texts[i],
                "terms": [
                    {"term": t.term, "gold": kept[i][1][k][2]}
                    | {name: labels[name][first + k] for name in labels if not name.startswith("majority")}
                    for k, t in enumerate(terms[i])
                ],
            })
    return report, phenomena, samples


def extracted_polarity_eval(
    sentences: Sequence[Any],
    extracted: Sequence[Sequence[Any]],
    vader: Classify,
    prototypes: Classify | None,
    head_labels: Sequence[Sequence[str]] | None,
) -> dict[str, Any]:
    """On the tagger's own terms: accuracy over the extracted terms that match a gold term (exact span),
    and end-to-end precision / recall / F1 where a term counts only with its gold polarity. Terms that
    match a "conflict" gold term are left out on both sides."""
    texts = [s.text for s in sentences]
    labels = {
        name: _method_labels(reads, classify, texts, extracted)
        for name, (reads, classify) in polarity_methods(vader, prototypes).items()
    }
    if head_labels is not None:
        labels["head"] = [list(group) for group in head_labels]
    report: dict[str, Any] = {}
    for name, per_text in labels.items():
        true, guess = [], []
        tp = predicted = gold = 0
        for sentence, terms, group in zip(sentences, extracted, per_text, strict=True):
            polarity_of = {(s, e): p for s, e, p in sentence.terms}
            gold += sum(p in POLARITIES for p in polarity_of.values())
            for term, label in zip(terms, group, strict=True):
                truth = polarity_of.get((term.start, term.end))
                if truth is not None and truth not in POLARITIES:
                    continue  # a conflict term: no method can be right
                predicted += 1
                if truth is not None:
                    true.append(truth)
                    guess.append(label)
                    tp += truth == label
        precision = tp / predicted if predicted else 0.0
        recall = tp / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[name] = _accuracy(true, guess) | {
            "matched_terms": len(true),
            "end_to_end": {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)},
        }
    return report


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

    vader = vader_classifier()
    prototypes = None if args.skip_prototypes else prototype_classify()
    head_tagger = None
    if not args.skip_tagger:
        with tempfile.TemporaryDirectory() as folder, TqdmProgress("step", disable=not args.verbose) as progress:
            started = time.monotonic()
            trained = train_aspect_tagger(
                [(s.text, s.spans) for s in train],
                Path(folder) / "tagger",
                polarities=None if args.no_polarity_head else [[p or None for _, _, p in s.terms] for s in train],
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
            head_labels = None
            if tagger.has_polarity:
                head_tagger = tagger
                mentions = tagger.extract_with_polarity(test_texts)
                same_terms = [[m.term for m in group] for group in mentions] == predicted
                report["head_terms_match_extract"] = same_terms  # one pass gives the same terms as `extract`
                head_labels = [[m.polarity for m in group] for group in mentions] if same_terms else None
            report["polarity_extracted"] = extracted_polarity_eval(test, predicted, vader, prototypes, head_labels)
            report["polarity"], report["polarity_by_phenomenon"], report["polarity_examples"] = polarity_eval(
                test, vader, prototypes, head_tagger, examples=args.examples
            )
        results["tagger"] = {
            **span_scores(test_gold, predicted),
            "term_set": term_set_scores(test_texts, test_gold, predicted),
            "validation": trained.metrics,
            "history": trained.history,
            "params": trained.params,
            "train_seconds": round(seconds, 1),
            "extract_sentences_per_second": round(len(test_texts) / max(extract_seconds, 1e-9), 1),
        }
    else:
        report["polarity"], report["polarity_by_phenomenon"], report["polarity_examples"] = polarity_eval(
            test, vader, prototypes, examples=args.examples
        )

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
        tagger = report["results"]["tagger"]
        head = " with polarity head" if tagger["params"].get("polarity_head") else ""
        lines.append(f"tagger training{head}: {tagger['train_seconds']:.0f} s, "
                     f"best epoch {tagger['params']['best_epoch']} of {tagger['params']['epochs_run']}")
    lines.append("")
    lines.append("aspect polarity ('conflict' left out). gold: on the gold terms; extracted: on the tagger's terms")
    lines.append("that match a gold term; e2e F1: a term counts only with its right polarity. 'mixed': sentences")
    lines.append("whose terms differ in polarity")
    extracted = report.get("polarity_extracted", {})
    lines.append(f"{'method':<26} {'gold acc':>8} {'macroF1':>8} {'mixed':>6} {'n':>5}   "
                 f"{'extr acc':>8} {'macroF1':>8} {'n':>5} {'e2e F1':>7}")
    for name, row in report["polarity"].items():
        if name.endswith("_mixed_sentences"):
            continue
        mixed = report["polarity"].get(f"{name}_mixed_sentences")
        line = (f"{name:<26} {row['accuracy']:>8.3f} {row['macro_f1']:>8.3f} "
                f"{mixed['accuracy'] if mixed else float('nan'):>6.3f} {row['n']:>5}")
        if name in extracted:
            e = extracted[name]
            line += (f"   {e['accuracy']:>8.3f} {e['macro_f1']:>8.3f} {e['n']:>5} "
                     f"{e['end_to_end']['f1']:>7.3f}")
        lines.append(line)
    phenomena = report.get("polarity_by_phenomenon", {})
    if phenomena:
        lines.append("")
        names = list(next(iter(phenomena.values())))
        lines.append("gold-term accuracy by what the sentence holds: " + ", ".join(
            f"{phenomenon} (n={rows[names[0]]['n']})" for phenomenon, rows in phenomena.items()))
        for name in names:
            lines.append(f"{name:<26} " + " ".join(f"{phenomena[p][name]['accuracy']:>10.3f}" for p in phenomena))
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
    parser.add_argument(
        "--keep-settings", action="store_true", help="unsupervised: keep nouns of a verb's locative/temporal phrase"
    )
    parser.add_argument("--skip-prototypes", action="store_true", help="no clause method with the prototypes")
    parser.add_argument("--no-polarity-head", action="store_true", help="train the tagger on the tags only")
    parser.add_argument("--examples", type=int, default=30, help="sample sentences written to the report")
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
