"""Rated reviews to train the sentiment model on: the shop's own (the database) or a file.

Title + text, labelled by rating (1-2 stars negative, 3 neutral, 4-5 positive; the stars are kept too,
as the ordinal model's target), or by binary 0/1 labels from a file. Rows that cannot be used are
skipped and counted, the first few described with file, line, column and reason; too little data stops
before any training, saying what serves meanwhile.
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

from .models import Review

MIN_REVIEWS = 300  # below this a fine-tuned model is noisier than the prototypes
MIN_PER_CLASS = 30  # per label present: fewer examples cannot teach (or validate) a class
MAX_REPORTED = 20  # skipped rows described in the report; all are counted
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # csv's default of 128 KiB is less than some long reviews
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
        data.ratings.append(int(float(str(rating))))
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
