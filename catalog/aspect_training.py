"""Training, versioning and activating the aspect tagger.

Labelled aspect terms come in the layout of the SemEval-2014 ABSA files flattened to one row per term
(`sentence_id, text, aspect_term, from, to, polarity`; a sentence without aspects has one row with the
aspect columns empty). When the terms carry polarities, a polarity head trains with the tagger and
reads each mention's polarity in serving; its held-out accuracy and macro-F1 are recorded with the
version. A trained tagger is recorded as a `ModelVersion` of role "aspects" and replaces the active one
only when it scores a higher F1 on the same held-out sentences. Until one exists, an unsupervised
extractor fitted on the shop's own reviews serves (`active_models`).
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.progress import NO_PROGRESS, Progress
from inference.aspects.polarity import mentions_with_polarity
from inference.aspects.terms import AspectMention, Example
from inference.aspects.training import span_scores, train_aspect_tagger

from . import training_files
from .active_models import active_sentiment_classifier, aspect_tagger, forget_loaded_models
from .model_versions import (
    activate_if_better,
    active_version,
    check_new_version_name,
    default_version_name,
    models_dir,
    record_version,
)
from .models import ModelRole, ModelVersion

REQUIRED_COLUMNS = ("sentence_id", "text", "aspect_term", "from", "to")  # `polarity` is optional
# SemEval's values; "conflict" (praised and criticised at once) is read but not trained on: no serving
# classifier says it, and with 2% of the terms it is too rare to learn
POLARITY_VALUES = ("negative", "neutral", "positive", "conflict")
OFFSET_SEARCH = 40  # characters either side of a wrong offset searched for the term
MAX_REPORTED = 50  # skipped rows described in the report; all are counted
DEFAULT_EPOCHS = 8


class AspectDataError(ValueError):
    """The file cannot be used: the message names the file, line, column and reason."""


@dataclass
class LabelledSentence:
    sentence_id: str
    text: str
    terms: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, polarity)

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(start, end) for start, end, _ in self.terms]


@dataclass
class AspectDataset:
    sentences: list[LabelledSentence]
    rows: int = 0
    fixed_offsets: int = 0
    skipped_terms: int = 0
    problems: list[str] = field(default_factory=list)  # the first MAX_REPORTED skipped rows, with reasons

    @property
    def examples(self) -> list[Example]:
        return [(s.text, s.spans) for s in self.sentences]

    @property
    def polarities(self) -> list[list[str | None]]:
        """The polarity of each span of `examples` (None where the file gives none)."""
        return [[polarity or None for _, _, polarity in s.terms] for s in self.sentences]

    @property
    def polarity_counts(self) -> dict[str, int]:
        counts = {value: 0 for value in POLARITY_VALUES}
        for sentence in self.sentences:
            for _, _, polarity in sentence.terms:
                if polarity:
                    counts[polarity] += 1
        return counts

    @property
    def term_count(self) -> int:
        return sum(len(s.terms) for s in self.sentences)

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "sentences": len(self.sentences),
            "terms": self.term_count,
            "sentences_without_aspects": sum(1 for s in self.sentences if not s.terms),
            "fixed_offsets": self.fixed_offsets,
            "skipped_terms": self.skipped_terms,
            **{f"polarity_{value}": count for value, count in self.polarity_counts.items()},
        }


def locate_term(text: str, term: str, start: int, end: int) -> tuple[int, int] | None:
    """Where `term` really is: at the given offsets when they hold it, else the occurrence nearest to
    them within OFFSET_SEARCH characters (exact case first, then any case); None if there is none."""
    if 0 <= start < end <= len(text) and text[start:end] == term:
        return start, end
    if not term:
        return None
    lo, hi = max(0, start - OFFSET_SEARCH), min(len(text), max(end, start + len(term)) + OFFSET_SEARCH)
    window = text[lo:hi]
    for haystack, needle in ((window, term), (window.lower(), term.lower())):
        found = [lo + m.start() for m in re.finditer(re.escape(needle), haystack)]
        if found:
            best = min(found, key=lambda position: abs(position - start))
            return best, best + len(term)
    return None


def read_aspect_csv(path: str | Path, encoding: str = "utf-8-sig") -> AspectDataset:
    """Sentences with their aspect spans, in file order. Offsets that miss their term by a little are
    corrected; terms that cannot be found, or rows with bad offsets, are skipped and counted. A polarity
    that is not one of POLARITY_VALUES (any case) or empty is an error naming its line: it is a labelling
    mistake that would silently teach the polarity head nothing."""
    path = Path(path)
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise AspectDataError(
                    f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'no header'}; "
                    f"expected {', '.join(REQUIRED_COLUMNS)} (and optionally polarity)"
                )
            reader.fieldnames = columns
            return _read_rows(reader, path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AspectDataError(f"cannot read {path}: {exc}") from exc


def _read_rows(reader: csv.DictReader[str], path: Path) -> AspectDataset:
    dataset = AspectDataset([])
    by_id: dict[str, LabelledSentence] = {}

    def skip(line: int, reason: str) -> None:
        dataset.skipped_terms += 1
        if len(dataset.problems) < MAX_REPORTED:
            dataset.problems.append(f"{path.name} line {line}: {reason}")

    for row in reader:
        dataset.rows += 1
        line = reader.line_num
        sentence_id, text = (row.get("sentence_id") or "").strip(), row.get("text") or ""
        if not sentence_id or not text.strip():
            skip(line, "empty sentence_id or text")
            continue
        sentence = by_id.get(sentence_id)
        if sentence is None:
            sentence = by_id[sentence_id] = LabelledSentence(sentence_id, text)
            dataset.sentences.append(sentence)
        elif sentence.text != text:
            skip(line, f"sentence {sentence_id} has a different text on an earlier row")
            continue
        term = row.get("aspect_term") or ""
        if not term.strip():
            continue  # a sentence without aspects: a negative example
        try:
            start, end = int(str(row.get("from")).strip()), int(str(row.get("to")).strip())
        except ValueError:
            skip(line, f"from/to {row.get('from')!r}/{row.get('to')!r} are not whole numbers")
            continue
        located = locate_term(text, term, start, end)
        if located is None:
            skip(line, f"aspect_term {term!r} is not in the text near offset {start}")
            continue
        if located != (start, end):
            dataset.fixed_offsets += 1
        polarity = (row.get("polarity") or "").strip().lower()
        if polarity and polarity not in POLARITY_VALUES:
            raise AspectDataError(
                f"{path} line {line}, column polarity: {row.get('polarity')!r} is not one of "
                f"{', '.join(POLARITY_VALUES)} (or empty)"
            )
        if any((s, e) == located for s, e, _ in sentence.terms):
            continue
        sentence.terms.append((located[0], located[1], polarity))
    for sentence in dataset.sentences:
        sentence.terms.sort()
    return dataset


# --- Training and activation ---------------------------------------------------------------------------

@dataclass
class AspectTrainingOutcome:
    version: ModelVersion
    metrics: dict[str, Any]
    activated: bool
    active_f1: float | None  # the previously active tagger's score (`metric`) on the same held-out sentences
    data: dict[str, int]
    problems: list[str]
    seconds: float
    metric: str = "f1"  # what decided the activation: term F1, or end_to_end_f1 when the file has polarities


def check_version_name(name: str) -> None:
    check_new_version_name(ModelRole.ASPECTS, name, AspectDataError, "an aspect model")


def _score_on(version: ModelVersion, examples: Sequence[Example]) -> float | None:
    """F1 of a stored tagger on `examples`, or None when its files are gone (then it cannot compete)."""
    tagger = aspect_tagger(version)
    if tagger is None:
        return None
    predicted = tagger.extract([text for text, _ in examples])
    return float(span_scores([spans for _, spans in examples], predicted)["f1"])


POLAR = ("negative", "neutral", "positive")


def polar_span_f1(
    gold: Sequence[Sequence[tuple[int, int, str | None]]], predicted: Sequence[Sequence[AspectMention]]
) -> float:
    """End-to-end F1: a predicted mention counts only when its span and its polarity are a gold term's.
    Gold terms without a usable polarity (none, "conflict") are left out, and so is a prediction on one."""
    tp = fp = fn = 0
    for terms, mentions in zip(gold, predicted, strict=True):
        truth = {(start, end, polarity) for start, end, polarity in terms if polarity in POLAR}
        unrated = {(start, end) for start, end, polarity in terms if polarity not in POLAR}
        guess = {(m.term.start, m.term.end, m.polarity) for m in mentions if (m.term.start, m.term.end) not in unrated}
        tp, fp, fn = tp + len(truth & guess), fp + len(guess - truth), fn + len(truth - guess)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0


def _end_to_end_on(version: ModelVersion, sentences: Sequence[LabelledSentence]) -> float | None:
    """End-to-end F1 of a stored tagger: its polarity head when it has one, else the clause method with
    the serving English sentiment model (what serving would store for these sentences)."""
    tagger = aspect_tagger(version)
    if tagger is None:
        return None
    classifier, _ = active_sentiment_classifier()

    def classify(contexts: list[str]) -> list[str]:
        return [p.label for p in classifier.predict(contexts)] if contexts else []

    mentions = mentions_with_polarity(tagger, [s.text for s in sentences], classify)
    return polar_span_f1([s.terms for s in sentences], mentions)


def train_aspects(
    path: str | Path,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    name: str | None = None,
    activate: bool = True,
    progress: Progress = NO_PROGRESS,
    job_id: int | None = None,
    base_path: str | Path | None = None,
    max_steps: int | None = None,
) -> AspectTrainingOutcome:
    """Read a labelled file, fine-tune a tagger into var/models/aspects/<name>, record its version and
    activate it if it beats the active tagger on the same held-out sentences (or none is active).

    The held-out sentences are chosen by a hash of their text (`holdout_split`), so a tagger trained
    earlier on the same file never saw them; one trained on another file may have, which favours it.
    """
    started = time.monotonic()
    if epochs < 1:
        raise AspectDataError("epochs must be at least 1")
    dataset = read_aspect_csv(path)
    if dataset.term_count == 0:
        raise AspectDataError(f"{path}: no usable aspect terms ({dataset.skipped_terms} skipped)")
    name = name or default_version_name("tagger")
    check_version_name(name)
    out_dir = models_dir(ModelRole.ASPECTS) / name
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a folder left by a failed run of the same name: no version points at it
    examples = dataset.examples
    result = train_aspect_tagger(
        examples, out_dir, polarities=dataset.polarities, base_path=base_path, epochs=epochs, seed=seed,
        progress=progress, max_steps=max_steps,
    )
    version = record_version(
        ModelRole.ASPECTS,
        name,
        path=result.path,
        base_model=str(result.params.get("base_model", "")),
        params={**result.params, "input": Path(path).name, "data": dataset.summary()},
        metrics={**result.metrics, "history": result.history},
        job_id=job_id,
    )
    # With polarities in the file, taggers compete on end-to-end F1 (span and polarity right): a tagger
    # with a polarity head gives up some term F1 to joint training (0.749 -> 0.724 on the SemEval laptop
    # development split) but reads polarity far better than the clause method (end to end 0.46 -> 0.59).
    validation_sentences = [dataset.sentences[i] for i in result.validation_indices]
    polar = sum(1 for s in validation_sentences for _, _, polarity in s.terms if polarity in POLAR) > 0
    metric = "end_to_end_f1" if polar else "f1"
    if polar:
        candidate_score = _end_to_end_on(version, validation_sentences)
        version.metrics["end_to_end_f1"] = candidate_score
        version.save(update_fields=["metrics"])
    else:
        candidate_score = float(result.metrics.get("f1", 0.0))
    activated, active_f1 = False, None
    if activate:
        current = active_version(ModelRole.ASPECTS)
        validation = [examples[i] for i in result.validation_indices]
        if current is not None and validation:
            active_f1 = (_end_to_end_on(current, validation_sentences) if polar else _score_on(current, validation))
            version.metrics[f"active_{metric}_same_split"] = active_f1
            version.metrics["compared_with"] = current.name
            version.save(update_fields=["metrics"])
        activated = activate_if_better(version, metric, float(candidate_score or 0.0), active_f1)
        forget_loaded_models()
    return AspectTrainingOutcome(
        version=version,
        metrics=result.metrics,
        activated=activated,
        active_f1=active_f1,
        metric=metric,
        data=dataset.summary(),
        problems=dataset.problems,
        seconds=round(time.monotonic() - started, 1),
    )


# --- Job files -----------------------------------------------------------------------------------------

def check_job_path(path: str | Path) -> None:
    training_files.check_job_path(path, AspectDataError)


def stage_for_job(path: str | Path) -> Path:
    """Copy an operator's file into the uploads folder, where a training job may read it."""
    return training_files.stage_for_job(path, "aspects", AspectDataError)


def outcome_summary(outcome: AspectTrainingOutcome) -> dict[str, Any]:
    """What a job reports about a run (its result)."""
    return {
        "version": outcome.version.name,
        "metrics": {
            k: outcome.version.metrics.get(k)
            for k in ("precision", "recall", "f1", "polarity_accuracy", "polarity_macro_f1", "end_to_end_f1")
        },
        "metric": outcome.metric,
        "activated": outcome.activated,
        "active_f1": outcome.active_f1,
        "data": outcome.data,
        "problems": outcome.problems[:20],
    }
