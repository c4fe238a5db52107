"""Training, versioning and activating the sentiment model.

A trained model is recorded as a `ModelVersion` of role "sentiment" and replaces the serving model only
when it scores a higher macro-F1 on the same validation reviews; the serving model is the active
version, or, before there is one, the prototype classifier (labelled example sentences), which keeps
serving until a shop has enough ratings to train on (`active_models`).
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
from inference.sentiment.training import train_sentiment

from . import training_files
from .active_models import forget_loaded_models, serving_sentiment_classifier
from .model_versions import activate_if_better, check_new_version_name, default_version_name, models_dir, record_version
from .models import ModelRole, ModelVersion
from .sentiment_data import MIN_PER_CLASS, MIN_REVIEWS, SentimentDataError, TrainingData, check_enough


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
    min_reviews: int = MIN_REVIEWS,
    min_per_class: int = MIN_PER_CLASS,
    train_options: dict[str, Any] | None = None,
) -> SentimentTrainingOutcome:
    """Fine-tune on `data` into var/models/sentiment/<name>, record the version, and activate it if it
    beats the serving model (active version or prototypes) on the same validation reviews."""
    started = time.monotonic()
    check_enough(data, min_reviews, min_per_class)
    if epochs is not None and epochs < 1:
        raise SentimentDataError("epochs must be at least 1")
    if patience < 1:
        raise SentimentDataError("patience must be at least 1")
    if max_per_class is not None and max_per_class < 1:
        raise SentimentDataError("max-per-class must be at least 1")
    if not 0 < validation_fraction < 0.5:
        raise SentimentDataError("the validation fraction must be between 0 and 0.5")
    name = name or default_version_name("sentiment")
    check_version_name(name)
    final_dir = models_dir(ModelRole.SENTIMENT) / name
    partial_dir = final_dir.with_name(f"{name}.partial")
    for stale in (final_dir, partial_dir):  # left by a failed run of the same name: no version points at them
        if stale.exists():
            shutil.rmtree(stale)
    result = train_sentiment(
        data.texts, data.labels, partial_dir, ratings=data.stars(), base_path=base_path, epochs=epochs,
        patience=patience, max_per_class=max_per_class, validation_fraction=validation_fraction, seed=seed,
        progress=progress,
        extra_meta={"data": data.summary()}, **(train_options or {}),
    )
    meta_path = partial_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["name"] = name
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    partial_dir.rename(final_dir)  # the folder appears whole or not at all

    metric = "binary_macro_f1" if data.binary else "macro_f1"
    serving, compared_with = serving_sentiment_classifier()
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
    )


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
        "metrics": {k: outcome.metrics.get(k) for k in keys},
        "metric": outcome.metric,
        "activated": outcome.activated,
        "compared_with": outcome.compared_with,
        "serving_metrics": {k: serving.get(k) for k in keys} if serving else None,
        "data": outcome.data,
        "problems": outcome.problems,
        "seconds": outcome.seconds,
    }
