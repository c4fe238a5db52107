"""`manage.py score_reviews INPUT.csv --text-column C --output OUT.csv`: score any review file with the
active models, writing every input column plus sentiment, sentiment_score and aspects, and the detected
language when the file has no `language` column (one it has is read as each row's declared language).
Each row is read by the sentiment model of its language, as in review analysis."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from catalog.insights.reviews import CHUNK
from catalog.insights.scoring import load_scorer, review_text

OUTPUT_COLUMNS = ("sentiment", "sentiment_score", "aspects")
LANGUAGE_COLUMN = "language"  # written when the input has none; read as the declared language when it has


def read_rows(path: Path, text_column: str, title_column: str | None) -> tuple[list[str], list[dict[str, str]]]:
    """The file's header and rows; a clear CommandError for an unreadable file or a missing column."""
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            missing = [c for c in (text_column, title_column) if c and c not in header]
            if missing:
                raise CommandError(
                    f"{path}: no column {', '.join(repr(c) for c in missing)}; the columns are: "
                    + ", ".join(repr(c) for c in header)
                )
            rows = list(reader)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise CommandError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot be read ({exc.strerror})") from None
    if not header:
        raise CommandError(f"{path}: the file is empty (no header row)")
    return header, rows


class Command(BaseCommand):
    help = "Score reviews in a CSV file with the active sentiment and aspect models."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", type=Path, help="CSV file with a header row")
        parser.add_argument("--text-column", required=True, help="column holding the review text")
        parser.add_argument("--title-column", help="optional column holding the review title")
        parser.add_argument("--output", required=True, type=Path, help="CSV file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["input"]
        target: Path = options["output"]
        header, rows = read_rows(source, options["text_column"], options.get("title_column"))
        clashes = [c for c in OUTPUT_COLUMNS if c in header]
        if clashes:
            raise CommandError(f"{source}: already has column(s) {', '.join(clashes)}; rename them first")
        if not target.parent.exists():
            raise CommandError(f"{target.parent}: no such folder for the output")
        title_column = options.get("title_column")
        texts = [
            review_text(row.get(title_column) or "" if title_column else "", row.get(options["text_column"]) or "")
            for row in rows
        ]
        declared = [row.get(LANGUAGE_COLUMN) or "" for row in rows]
        extra = [] if LANGUAGE_COLUMN in header else [LANGUAGE_COLUMN]
        scorer = load_scorer(texts, embed=False)
        sentiment_name = scorer.sentiment_version.name if scorer.sentiment_version else "prototype classifier"
        others = [f"{v.language}: {v.name}" for v in (scorer.routes.languages.values() if scorer.routes else [])
                  if v.language != "en"]
        aspect_name = scorer.aspect_version.name if scorer.aspect_version else "unsupervised extractor"
        self.stderr.write(f"sentiment: {sentiment_name}{''.join('; ' + o for o in others)}; aspects: {aspect_name}; "
                          f"{len(rows)} rows")
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*header, *OUTPUT_COLUMNS, *extra])
            writer.writeheader()
            with tqdm(total=len(rows), unit="review", disable=None) as bar:
                for start in range(0, len(rows), CHUNK):
                    batch = texts[start : start + CHUNK]
                    scores = scorer.score(batch, declared[start : start + CHUNK], embed=False)
                    for row, score in zip(rows[start : start + CHUNK], scores, strict=True):
                        terms = [{"term": a["term"], "polarity": a["polarity"]} for a in score.aspects]
                        writer.writerow(
                            {
                                **row,
                                "sentiment": score.sentiment,
                                "sentiment_score": f"{score.sentiment_score:.4f}",
                                "aspects": json.dumps(terms, ensure_ascii=False),
                                **({LANGUAGE_COLUMN: score.language} if extra else {}),
                            }
                        )
                    bar.update(len(batch))
        self.stdout.write(f"wrote {len(rows)} scored rows to {target}")
