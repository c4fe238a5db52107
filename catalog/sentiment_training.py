"""Training, versioning and serving the sentiment model; the `train_sentiment` job kind.

Training data are the shop's rated reviews (title + text; 1-2 stars negative, 3 neutral, 4-5
positive), from the database or from a CSV / JSON Lines file (optionally binary 0/1 labels). A trained
model is recorded as a `ModelVersion` of role "sentiment" and replaces the serving model only when it
scores a higher macro-F1 on the same validation reviews; the serving model is the active version, or,
before there is one, the prototype classifier (labelled example sentences), which keeps serving
until a shop has enough ratings to train on.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone

from inference import registry
from inference.sentiment import (
    LABELS,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    FineTunedSentiment,
    Progress,
    PrototypeSentiment,
    SentimentClassifier,
    rating_to_label,
    review_text,
    sentiment_metrics,
    train_sentiment,
)
from jobs.runner import JobContext, job_kind

from . import training_files
from .model_versions import activate_if_better, active_version, models_dir, record_version
from .models import ModelRole, ModelVersion, Review

MIN_REVIEWS = 300  # below this a fine-tuned model is noisier than the prototypes
MIN_PER_CLASS = 30  # per label present: fewer examples cannot teach (or validate) a class
MAX_REPORTED = 20  # skipped rows described in the report; all are counted
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # csv's default of 128 KiB is less than some long reviews
VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # becomes a folder name: no path tricks
BINARY_VALUES = {"0": NEGATIVE, "1": POSITIVE, "0.0": NEGATIVE, "1.0": POSITIVE, "false": NEGATIVE, "true": POSITIVE}


class SentimentDataError(ValueError):
    """Training cannot start: the message names the file, line, column and reason, or the counts."""


class NotEnoughData(SentimentDataError):
    """Too few rated reviews to train on; the prototype classifier keeps serving."""


@dataclass
class TrainingData:
    texts: list[str]
    labels: list[str]
    source: str  # "database" or the file's name
    rows: int = 0  # rows read, including skipped ones
    skipped: int = 0
    problems: list[str] = field(default_factory=list)  # the first MAX_REPORTED skipped rows, with reasons
    binary: bool = False  # only negative/positive labels: compare versions on binary macro-F1

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {label: counts.get(label, 0) for label in LABELS if not (self.binary and label == NEUTRAL)}

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, "rows": self.rows, "usable": len(self.texts), "skipped": self.skipped,
                "counts": self.counts, "binary": self.binary}

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(f"{where}: {reason}")


# --- Reading training data -----------------------------------------------------------------------------

def load_from_database() -> TrainingData:
    """Every review with a rating and some text."""
    data = TrainingData([], [], "database")
    rows = Review.objects.exclude(rating=None).order_by("pk").values_list("pk", "title", "text", "rating")
    for pk, title, text, rating in rows.iterator(chunk_size=2000):
        data.rows += 1
        label, joined = rating_to_label(rating), review_text(title, text)
        if label is None or not joined:
            data.skip(f"review {pk}", "no text" if label else f"rating {rating!r} is not 1-5")
            continue
        data.texts.append(joined)
        data.labels.append(label)
    return data


def _open_text(path: Path) -> IO[str]:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if last == ".tsv":
        return "tsv"
    return "csv"


def _records(path: Path, handle: IO[str], fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, record) pairs; CSV lines count the header as line 1."""
    if fmt == "jsonl":
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SentimentDataError(f"{path.name} line {line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise SentimentDataError(f"{path.name} line {line_no}: expected a JSON object per line")
            yield line_no, record
        return
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.DictReader(handle, delimiter="\t" if fmt == "tsv" else ",")
    for record in reader:
        yield reader.line_num, record


def load_from_file(
    path: str | Path,
    *,
    text_column: str,
    rating_column: str,
    title_column: str | None = None,
    binary_labels: bool = False,
) -> TrainingData:
    """Rated reviews from a CSV, TSV or JSON Lines file (optionally .gz). Ratings 1-5, or with
    `binary_labels` 0 (negative) / 1 (positive). Rows without text or rating are skipped and counted;
    a missing column stops before any training."""
    path = Path(path)
    if not path.is_file():
        raise SentimentDataError(f"cannot read {path}: no such file")
    data = TrainingData([], [], path.name, binary=binary_labels)
    fmt = _file_format(path)
    wanted = [c for c in (text_column, rating_column, title_column) if c]
    seen: set[str] = set()  # JSON Lines may leave out keys: a column is missing if no record has it
    try:
        with _open_text(path) as handle:
            for line, record in _records(path, handle, fmt):
                if not data.rows and fmt != "jsonl":
                    _check_columns(path, list(record), wanted)
                data.rows += 1
                if fmt == "jsonl" and len(seen) < 10_000:
                    seen.update(record)
                _add_record(data, record, line, path.name, text_column, rating_column, title_column)
    except SentimentDataError:
        raise
    except (OSError, UnicodeDecodeError, csv.Error, EOFError, gzip.BadGzipFile) as exc:
        raise SentimentDataError(f"cannot read {path}: {exc}") from exc
    if not data.rows:
        raise SentimentDataError(f"{path.name}: the file holds no rows")
    if fmt == "jsonl":
        _check_columns(path, sorted(seen), wanted)
    return data


def _add_record(
    data: TrainingData,
    record: dict[str, Any],
    line: int,
    source: str,
    text_column: str,
    rating_column: str,
    title_column: str | None,
) -> None:
    value = record.get(rating_column)
    raw = "" if value is None else str(value).strip()
    if data.binary:
        label = BINARY_VALUES.get(raw.lower())
        reason = f"{rating_column} {raw!r} is not 0 or 1"
    else:
        label = rating_to_label(raw)
        reason = f"{rating_column} {raw!r} is not a rating from 1 to 5"
    text = review_text(record.get(title_column) if title_column else "", record.get(text_column))
    where = f"{source} line {line}"
    if not raw:
        data.skip(where, f"{rating_column} is empty")
    elif label is None:
        data.skip(where, reason)
    elif not text:
        data.skip(where, f"{text_column} and {title_column} are empty" if title_column else f"{text_column} is empty")
    else:
        data.texts.append(text)
        data.labels.append(label)


def _check_columns(path: Path, columns: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        found = ", ".join(repr(c) for c in columns) or "none"
        raise SentimentDataError(f"{path.name}: no column {', '.join(repr(c) for c in missing)}; columns are {found}")


def check_enough(data: TrainingData, min_reviews: int = MIN_REVIEWS, min_per_class: int = MIN_PER_CLASS) -> None:
    """Refuse to train on too little: say what exists, what is needed, and what serves meanwhile."""
    counts = data.counts
    short = [label for label, n in counts.items() if n < min_per_class]
    if len(data.texts) >= min_reviews and not short:
        return
    described = ", ".join(f"{label} {n}" for label, n in counts.items())
    skipped = f" ({data.skipped} rows skipped, e.g. {data.problems[0]})" if data.problems else ""
    raise NotEnoughData(
        f"only {len(data.texts)} rated reviews with text in {data.source} ({described}){skipped}; training needs "
        f"at least {min_reviews} and at least {min_per_class} per class. The prototype classifier keeps serving "
        "until then."
    )


# --- Serving -------------------------------------------------------------------------------------------

def prototype_classifier() -> PrototypeSentiment:
    """The fallback on the shared embedder, built once per process (its prototypes are embedded once)."""
    embedder = registry.embedder()
    return registry.model_folder("sentiment_prototypes", embedder.path, lambda _path: PrototypeSentiment(embedder))


def active_sentiment_classifier() -> tuple[SentimentClassifier, ModelVersion | None]:
    """The classifier that serves, with its version: the active fine-tuned model (loaded once per
    process and folder), else a folder named by settings.SENTIMENT_MODEL, else the prototypes (None)."""
    version = active_version(ModelRole.SENTIMENT)
    if version is not None and version.path and Path(version.path).is_dir():
        return registry.model_folder("sentiment", version.path, FineTunedSentiment), version
    folder = str(getattr(settings, "SENTIMENT_MODEL", "") or "")
    if folder:
        return registry.model_folder("sentiment", folder, FineTunedSentiment), None
    return prototype_classifier(), None


# --- Training and activation ---------------------------------------------------------------------------

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


def default_version_name() -> str:
    return f"sentiment-{timezone.now():%Y%m%d-%H%M%S}"


def check_version_name(name: str) -> None:
    if not VERSION_NAME.match(name):
        raise SentimentDataError(f"version name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)")
    if ModelVersion.objects.filter(role=ModelRole.SENTIMENT, name=name).exists():
        raise SentimentDataError(f"a sentiment model named {name!r} exists already; choose another --name")


def _serving_classifier() -> tuple[SentimentClassifier | None, str]:
    """What serves now, to be measured against the candidate; None when its files are gone."""
    current = active_version(ModelRole.SENTIMENT)
    if current is None:
        return prototype_classifier(), "prototypes"
    if not current.path or not Path(current.path).is_dir():
        return None, current.name
    return registry.model_folder("sentiment", current.path, FineTunedSentiment), current.name


def activate_if_beats(
    version: ModelVersion, metric: str, candidate: dict[str, Any], serving: dict[str, Any] | None
) -> bool:
    """Activate `version` when its `metric` beats the serving model's on the same validation reviews
    (a tie keeps what serves); with no score to beat (the serving files are gone) it activates. Loaded
    models are forgotten so this process serves the new one."""
    active_score = None if serving is None else float(serving[metric])
    activated = activate_if_better(version, metric, float(candidate[metric]), active_score)
    if activated:
        registry.clear()
    return activated


def train_and_register(
    data: TrainingData,
    *,
    name: str | None = None,
    epochs: int | None = None,
    max_per_class: int | None = None,
    validation_fraction: float = 0.15,
    seed: int = 0,
    activate: bool = True,
    progress: Progress | None = None,
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
    if not 0 < validation_fraction < 0.5:
        raise SentimentDataError("the validation fraction must be between 0 and 0.5")
    name = name or default_version_name()
    check_version_name(name)
    final_dir = models_dir(ModelRole.SENTIMENT) / name
    partial_dir = final_dir.with_name(f"{name}.partial")
    for stale in (final_dir, partial_dir):  # left by a failed run of the same name: no version points at them
        if stale.exists():
            shutil.rmtree(stale)
    result = train_sentiment(
        data.texts, data.labels, partial_dir, base_path=base_path, epochs=epochs, max_per_class=max_per_class,
        validation_fraction=validation_fraction, seed=seed, progress=progress,
        extra_meta={"data": data.summary()}, **(train_options or {}),
    )
    meta_path = partial_dir / "sentiment.json"
    meta = json.loads(meta_path.read_text())
    meta["name"] = name
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    partial_dir.rename(final_dir)  # the folder appears whole or not at all

    metric = "binary_macro_f1" if data.binary else "macro_f1"
    serving, compared_with = _serving_classifier()
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


# --- Job -----------------------------------------------------------------------------------------------

def check_job_path(path: str | Path) -> None:
    training_files.check_job_path(path, SentimentDataError)


def stage_for_job(path: str | Path) -> Path:
    """Copy an operator's file into the uploads folder, where a training job may read it."""
    return training_files.stage_for_job(path, "sentiment", SentimentDataError)


def load_training_data(
    path: str | None = None,
    *,
    text_column: str | None = None,
    rating_column: str | None = None,
    title_column: str | None = None,
    binary_labels: bool = False,
) -> TrainingData:
    """From a file when `path` is given (text and rating columns required), else from the database."""
    if not path:
        return load_from_database()
    if not text_column or not rating_column:
        raise SentimentDataError("training from a file needs --text-column and --rating-column")
    return load_from_file(
        path, text_column=text_column, rating_column=rating_column, title_column=title_column,
        binary_labels=binary_labels,
    )


@job_kind("train_sentiment", queue="inference", description="Fine-tune the sentiment model on rated reviews.")
def train_sentiment_job(
    ctx: JobContext,
    path: str | None = None,
    text_column: str | None = None,
    rating_column: str | None = None,
    title_column: str | None = None,
    binary_labels: bool = False,
    epochs: int | None = None,
    max_per_class: int | None = None,
    validation_fraction: float = 0.15,
    seed: int = 0,
    name: str | None = None,
    activate: bool = True,
) -> dict[str, Any]:
    """Train from the database or an uploaded file, record the version, activate it if it is better."""
    if path:
        check_job_path(path)
    data = load_training_data(
        path, text_column=text_column, rating_column=rating_column, title_column=title_column,
        binary_labels=bool(binary_labels),
    )
    outcome = train_and_register(
        data, name=name, epochs=None if epochs is None else int(epochs),
        max_per_class=None if max_per_class is None else int(max_per_class),
        validation_fraction=float(validation_fraction), seed=int(seed), activate=bool(activate),
        progress=training_files.job_progress(ctx), job_id=ctx.job.pk,
    )
    ctx.count(reviews=len(data.texts), skipped=data.skipped)
    return outcome_summary(outcome)


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
