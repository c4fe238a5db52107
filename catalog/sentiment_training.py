"""Training, versioning and activating the sentiment model of a language.

The data's language decides the model: a language the English encoder reads (Latin script) fine-tunes
the encoder (`inference.sentiment.training`); any other script (Chinese, Japanese, Korean, Cyrillic,
Arabic) trains the character n-gram model (`inference.sentiment.ngram`, seconds on a CPU). A trained
model is recorded as a `ModelVersion` of role "sentiment" with its language and replaces the model
serving that language only when it scores a higher macro-F1 on the same validation reviews; the
serving model is the language's active version, or, before there is one, what reads it meanwhile (the
English model, or the prototype classifier), `active_models`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.progress import NO_PROGRESS, Progress
from inference.sentiment.classifier import sentiment_metrics
from inference.sentiment.finetuned import META_FILE
from inference.sentiment.ngram import train_ngram_sentiment
from inference.sentiment.training import train_sentiment

from . import training_files
from .active_models import ENGLISH, encoder_reads, forget_loaded_models, serving_sentiment_classifier
from .model_versions import (
    activate_if_better,
    active_version,
    check_new_version_name,
    default_version_name,
    models_dir,
    record_version,
)
from .models import ModelRole, ModelVersion
from .sentiment_data import (
    MIN_PER_CLASS,
    MIN_PER_CLASS_NGRAM,
    MIN_REVIEWS,
    MIN_REVIEWS_NGRAM,
    NotEnoughData,
    SentimentDataError,
    TrainingData,
    check_enough,
)


@dataclass
class SentimentTrainingOutcome:
    version: ModelVersion
    metrics: dict[str, Any]
    metric: str  # what decided the activation: macro_f1, or binary_macro_f1 for binary labels
    activated: bool
    compared_with: str  # the active version's name, or "prototypes"
    active_metrics: dict[str, Any] | None  # the serving model's scores on the same validation reviews
    data: dict[str, Any]
    problems: list[str]
    seconds: float
    language: str = ENGLISH
    kind: str = "encoder"  # "encoder" (fine-tuned MiniLM) or "char_ngram"


def check_version_name(name: str) -> None:
    check_new_version_name(ModelRole.SENTIMENT, name, SentimentDataError, "a sentiment model")


def activate_if_beats(
    version: ModelVersion, metric: str, candidate: dict[str, Any], serving: dict[str, Any] | None
) -> bool:
    """Activate `version` when its `metric` beats the serving model's on the same validation reviews
    (a tie keeps what serves); with no score to beat (the serving files are gone) it activates. Loaded
    models are forgotten so this process serves the new one."""
    active_score = None if serving is None else float(serving[metric])
    activated = activate_if_better(version, metric, float(candidate[metric]), active_score)
    if activated:
        forget_loaded_models()
    return activated


def train_and_register(
    data: TrainingData,
    *,
    name: str | None = None,
    epochs: int | None = None,
    max_per_class: int | None = None,
    patience: int = 1,
    validation_fraction: float = 0.15,
    seed: int = 0,
    activate: bool = True,
    progress: Progress = NO_PROGRESS,
    job_id: int | None = None,
    base_path: str | Path | None = None,
    min_reviews: int | None = None,
    min_per_class: int | None = None,
    train_options: dict[str, Any] | None = None,
) -> SentimentTrainingOutcome:
    """Train the model of `data.language` into var/models/sentiment/<name>, record the version, and
    activate it if it beats the model serving that language (its active version, the English model or
    the prototypes) on the same validation reviews."""
    started = time.monotonic()
    language = data.language or ENGLISH
    ngram = not encoder_reads(language)
    check_enough(
        data,
        min_reviews if min_reviews is not None else MIN_REVIEWS_NGRAM if ngram else MIN_REVIEWS,
        min_per_class if min_per_class is not None else MIN_PER_CLASS_NGRAM if ngram else MIN_PER_CLASS,
    )
    if epochs is not None and epochs < 1:
        raise SentimentDataError("epochs must be at least 1")
    if patience < 1:
        raise SentimentDataError("patience must be at least 1")
    if max_per_class is not None and max_per_class < 1:
        raise SentimentDataError("max-per-class must be at least 1")
    if not 0 < validation_fraction < 0.5:
        raise SentimentDataError("the validation fraction must be between 0 and 0.5")
    name = name or default_version_name(f"sentiment-{language}" if language != ENGLISH else "sentiment")
    check_version_name(name)
    final_dir = models_dir(ModelRole.SENTIMENT) / name
    partial_dir = final_dir.with_name(f"{name}.partial")
    for stale in (final_dir, partial_dir):  # left by a failed run of the same name: no version points at them
        if stale.exists():
            shutil.rmtree(stale)
    result: Any
    if ngram:
        progress.stage("character n-grams")
        result = train_ngram_sentiment(
            data.texts, data.labels, partial_dir, language=language, validation_fraction=validation_fraction,
            seed=seed, extra_meta={"data": data.summary()},
        )
    else:
        result = train_sentiment(
            data.texts, data.labels, partial_dir, ratings=data.stars(), base_path=base_path, epochs=epochs,
            patience=patience, max_per_class=max_per_class, validation_fraction=validation_fraction, seed=seed,
            progress=progress, extra_meta={"data": data.summary()}, **(train_options or {}),
        )
    meta_path = partial_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["name"] = name
    meta["language"] = language
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    partial_dir.rename(final_dir)  # the folder appears whole or not at all

    metric = "binary_macro_f1" if data.binary else "macro_f1"
    serving, compared_with = serving_sentiment_classifier(language)
    active_metrics = (
        sentiment_metrics(result.validation_labels, serving.predict(result.validation_texts))
        if serving is not None and result.validation_texts else None
    )
    metrics = {**result.metrics, "compared_with": compared_with,
               "serving_same_split": active_metrics, "validation_metric": metric}
    version = record_version(
        ModelRole.SENTIMENT,
        name,
        path=final_dir,
        base_model=str(result.params.get("base_model", "")),
        params={**result.params, "data": data.summary()},
        metrics=metrics,
        job_id=job_id,
        language=language,
    )
    activated = activate and activate_if_beats(version, metric, result.metrics, active_metrics)
    return SentimentTrainingOutcome(
        version=version,
        metrics=result.metrics,
        metric=metric,
        activated=activated,
        compared_with=compared_with,
        active_metrics=active_metrics,
        data=data.summary(),
        problems=data.problems,
        seconds=round(time.monotonic() - started, 1),
        language=language,
        kind="char_ngram" if ngram else "encoder",
    )


@dataclass
class LanguagesOutcome:
    """Training from the database, one model per language: what trained, and why the others did not."""

    outcomes: list[SentimentTrainingOutcome]
    refused: dict[str, str]  # language -> why it has no new model (too few reviews)


def train_languages(
    sets: dict[str, TrainingData], *, name: str | None = None, **options: Any
) -> LanguagesOutcome:
    """Train the model of each language that has enough rated reviews (largest first); a language with
    too few is refused with the reason, and its reviews keep their model. Nothing trains: NotEnoughData
    for the largest language. Given a `name`, each version is <name>-<language> when there are several."""
    if not sets:
        raise NotEnoughData("no rated reviews with text in the database; the prototype classifier keeps serving")
    outcomes, refused = [], {}
    several = len(sets) > 1
    first_refusal: SentimentDataError | None = None
    for language, data in sets.items():
        try:
            outcomes.append(train_and_register(
                data, name=f"{name}-{language}" if name and several else name, **options
            ))
        except NotEnoughData as exc:
            refused[language] = str(exc)
            first_refusal = first_refusal or exc
    if not outcomes and first_refusal is not None:
        raise first_refusal
    return LanguagesOutcome(outcomes, refused)


def has_active_model(language: str) -> bool:
    """Whether `language` has an active sentiment version of its own."""
    return active_version(ModelRole.SENTIMENT, language) is not None


def languages_summary(result: LanguagesOutcome) -> dict[str, Any]:
    """The first (largest) language's summary at the top level, as a single training reports it, and
    every language's under `languages`."""
    summaries = {outcome.language: outcome_summary(outcome) for outcome in result.outcomes}
    first = outcome_summary(result.outcomes[0]) if result.outcomes else {}
    return {**first, "languages": summaries, "refused": result.refused, "trained": len(result.outcomes)}


def check_job_path(path: str | Path) -> None:
    training_files.check_job_path(path, SentimentDataError)


def stage_for_job(path: str | Path) -> Path:
    """Copy an operator's file into the uploads folder, where a training job may read it."""
    return training_files.stage_for_job(path, "sentiment", SentimentDataError)


def outcome_summary(outcome: SentimentTrainingOutcome) -> dict[str, Any]:
    keys = ("macro_f1", "accuracy", "binary_macro_f1", "binary_accuracy", "f1_per_class")
    serving = outcome.active_metrics or {}
    return {
        "version": outcome.version.name,
        "language": outcome.language,
        "kind": outcome.kind,
        "metrics": {k: outcome.metrics.get(k) for k in keys},
        "metric": outcome.metric,
        "activated": outcome.activated,
        "compared_with": outcome.compared_with,
        "serving_metrics": {k: serving.get(k) for k in keys} if serving else None,
        "data": outcome.data,
        "problems": outcome.problems,
        "seconds": outcome.seconds,
    }
