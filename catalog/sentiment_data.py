"""Rated reviews to train the sentiment model on: the shop's own (the database) or a file.

Title + text, labelled by rating (1-2 stars negative, 3 neutral, 4-5 positive; the stars are kept too,
as the ordinal model's target), or by binary labels from a file (a label column of positive/negative,
1/0 or true/false). Rows that cannot be used are skipped and counted, the first few described with file,
line, column and reason; too little data stops before any training, saying what serves meanwhile. Each
set knows its language (given, or the majority language of its texts): it decides which kind of model
trains (`sentiment_training`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from inference.sentiment.classifier import LABELS, NEGATIVE, NEUTRAL, POSITIVE, rating_to_label, review_text

from .language import detect_language
from .models import Review

MIN_REVIEWS = 300  # below this a fine-tuned model is noisier than the prototypes
MIN_PER_CLASS = 30  # per label present: fewer examples cannot teach (or validate) a class
MAX_REPORTED = 20  # skipped rows described in the report; all are counted
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # csv's default of 128 KiB is less than some long reviews
BINARY_VALUES = {"0": NEGATIVE, "1": POSITIVE, "0.0": NEGATIVE, "1.0": POSITIVE, "false": NEGATIVE, "true": POSITIVE}
LABEL_VALUES = {**BINARY_VALUES, NEGATIVE: NEGATIVE, POSITIVE: POSITIVE, "neg": NEGATIVE, "pos": POSITIVE}
LANGUAGE_SAMPLE = 2000  # texts whose language is detected to name a file's language
# The character n-gram model learns from far fewer reviews than the encoder needs: on the Chinese
# development file 100 reviews gave binary macro-F1 0.77-0.81 and 300 gave 0.85-0.86, against 0.58 for the
# prototypes that serve otherwise (`python -m evaluation.chinese_sentiment`).
MIN_REVIEWS_NGRAM = 100
MIN_PER_CLASS_NGRAM = 10


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
    language: str = ""  # BCP 47 primary tag of the texts ("en", "zh"), given or detected
    ratings: list[int] = field(default_factory=list)  # stars 1-5 per row, in step with labels; empty for binary

    def stars(self) -> list[int] | None:
        """The star ratings to train on, when every row has one."""
        return self.ratings if self.ratings and len(self.ratings) == len(self.labels) else None

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {label: counts.get(label, 0) for label in LABELS if not (self.binary and label == NEUTRAL)}

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, "rows": self.rows, "usable": len(self.texts), "skipped": self.skipped,
                "counts": self.counts, "binary": self.binary, "language": self.language}

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(f"{where}: {reason}")


# --- Reading training data -----------------------------------------------------------------------------

def load_from_database(language: str | None = None) -> TrainingData:
    """Every review with a rating and some text (of `language` only, when given)."""
    if language is not None:
        return load_database_by_language().get(language) or TrainingData([], [], "database", language=language)
    data = TrainingData([], [], "database")
    for pk, joined, rating, _ in _database_rows():
        _add_rated(data, pk, joined, rating)
    data.language = majority_language(data.texts)
    return data


def load_database_by_language() -> dict[str, TrainingData]:
    """The shop's rated reviews, one set per language (each review's declared language, else its script),
    largest first: each language gets a model of its own."""
    sets: dict[str, TrainingData] = {}
    for pk, joined, rating, language in _database_rows():
        data = sets.setdefault(language, TrainingData([], [], "database", language=language))
        _add_rated(data, pk, joined, rating)
    return dict(sorted(sets.items(), key=lambda item: -len(item[1].texts)))


def _database_rows() -> Iterator[tuple[int, str, Any, str]]:
    rows = Review.objects.exclude(rating=None).order_by("pk").values_list("pk", "title", "text", "rating", "language")
    for pk, title, text, rating, declared in rows.iterator(chunk_size=2000):
        joined = review_text(title, text)
        yield pk, joined, rating, detect_language(joined, declared or "")


def _add_rated(data: TrainingData, pk: int, joined: str, rating: Any) -> None:
    data.rows += 1
    label = rating_to_label(rating)
    if label is None or not joined:
        data.skip(f"review {pk}", "no text" if label else f"rating {rating!r} is not 1-5")
        return
    data.texts.append(joined)
    data.labels.append(label)
    data.ratings.append(int(float(str(rating))))


def majority_language(texts: Sequence[str]) -> str:
    """The language most of the texts are in (a sample of LANGUAGE_SAMPLE, spread over the set)."""
    if not texts:
        return ""
    step = max(1, len(texts) // LANGUAGE_SAMPLE)
    counts = Counter(detect_language(text) for text in texts[::step])
    counts.pop("", None)
    return counts.most_common(1)[0][0] if counts else ""


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
    rating_column: str | None = None,
    title_column: str | None = None,
    binary_labels: bool = False,
    label_column: str | None = None,
    language: str | None = None,
) -> TrainingData:
    """Rated reviews from a CSV, TSV or JSON Lines file (optionally .gz): a rating column (1-5, or with
    `binary_labels` 0 / 1) or a label column (positive/negative, 1/0, true/false). Rows without text or
    label are skipped and counted; a missing column stops before any training. The language is
    `language`, else the majority language of the texts."""
    path = Path(path)
    if not path.is_file():
        raise SentimentDataError(f"cannot read {path}: no such file")
    if bool(rating_column) == bool(label_column):
        raise SentimentDataError("give a rating column or a label column (one of them)")
    label_key = str(label_column or rating_column)
    data = TrainingData([], [], path.name, binary=binary_labels or bool(label_column))
    fmt = _file_format(path)
    wanted = [c for c in (text_column, label_key, title_column) if c]
    seen: set[str] = set()  # JSON Lines may leave out keys: a column is missing if no record has it
    try:
        with _open_text(path) as handle:
            for line, record in _records(path, handle, fmt):
                if not data.rows and fmt != "jsonl":
                    _check_columns(path, list(record), wanted)
                data.rows += 1
                if fmt == "jsonl" and len(seen) < 10_000:
                    seen.update(record)
                _add_record(data, record, line, path.name, text_column, label_key, title_column, bool(label_column))
    except SentimentDataError:
        raise
    except (OSError, UnicodeDecodeError, csv.Error, EOFError, gzip.BadGzipFile) as exc:
        raise SentimentDataError(f"cannot read {path}: {exc}") from exc
    if not data.rows:
        raise SentimentDataError(f"{path.name}: the file holds no rows")
    if fmt == "jsonl":
        _check_columns(path, sorted(seen), wanted)
    data.language = (language or "").split("-")[0].lower() or majority_language(data.texts)
    return data


def _add_record(
    data: TrainingData,
    record: dict[str, Any],
    line: int,
    source: str,
    text_column: str,
    rating_column: str,
    title_column: str | None,
    labels: bool = False,
) -> None:
    value = record.get(rating_column)
    raw = "" if value is None else str(value).strip()
    if labels:
        label = LABEL_VALUES.get(raw.lower())
        reason = f"{rating_column} {raw!r} is not positive/negative, 1/0 or true/false"
    elif data.binary:
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
        if not data.binary:
            data.ratings.append(int(float(raw)))


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


def load_training_data(
    path: str | None = None,
    *,
    text_column: str | None = None,
    rating_column: str | None = None,
    title_column: str | None = None,
    binary_labels: bool = False,
    label_column: str | None = None,
    language: str | None = None,
) -> TrainingData:
    """From a file when `path` is given (a text column and a rating or label column required), else from
    the database (all languages, or `language` only)."""
    if not path:
        return load_from_database(language)
    if not text_column or not (rating_column or label_column):
        raise SentimentDataError("training from a file needs --text-column and --rating-column or --label-column")
    return load_from_file(
        path, text_column=text_column, rating_column=rating_column, title_column=title_column,
        binary_labels=binary_labels, label_column=label_column, language=language,
    )
