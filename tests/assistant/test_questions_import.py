"""`import_data questions FILE`: an Amazon-style Q&A export imports as it is with `--map product=asin` (or
`--preset amazon-qa`); bad rows are reported by line and field and nothing of them is written."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from assistant.models import ProductQuestion
from ingest.errors import ImportConfigError
from ingest.importing import run_import
from ingest.options import build_options
from jobs.models import Job, JobStatus
from tests.assistant.builders import make_product

pytestmark = pytest.mark.django_db

COLUMNS = ["row_id", "asin", "questionType", "answerType", "question", "answer", "unixTime", "answerTime"]


def _export(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "qa.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def _rows() -> list[list[str]]:
    return [
        ["1", "B0001", "yes/no", "Y", "Does it fit a 10 inch pan?", "Yes, it does.", "1362211200", "Mar 2, 2013"],
        ["2", "B0001", "open-ended", "", "How loud is it?", "Quieter than my old one.", "", ""],
        ["3", "B9999", "open-ended", "", "Unknown product?", "Nobody knows.", "", ""],  # line 4: unknown asin
        ["4", "B0002", "open-ended", "", "   ", "An answer to nothing.", "", ""],  # line 5: empty question
        ["5", "B0002", "open-ended", "", "Is it dishwasher safe?", "", "", ""],  # unanswered: kept
    ]


def _import(*args: str) -> str:
    out = StringIO()
    call_command("import_data", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_amazon_export_imports_with_map_and_reports_bad_rows_by_line(tmp_path: Path) -> None:
    pan, kettle = make_product(sku="B0001"), make_product(sku="B0002")
    path = _export(tmp_path, _rows())
    output = _import("questions", str(path), "--map", "product=asin")
    assert "line 4, field product" in output and "B9999" in output
    assert "line 5, field question" in output
    stored = {q.question: q for q in ProductQuestion.objects.all()}
    assert set(stored) == {"Does it fit a 10 inch pan?", "How loud is it?", "Is it dishwasher safe?"}
    assert stored["How loud is it?"].product == pan and stored["Is it dishwasher safe?"].product == kettle
    assert stored["Is it dishwasher safe?"].answer == ""
    assert all(q.external_id.startswith("sha256:") for q in stored.values())
    assert not ProductQuestion.objects.filter(answer__in=["Nobody knows.", "An answer to nothing."]).exists()
    # the same export again stores nothing twice: the ids come from the content
    report = run_import(path, build_options("questions", mapping={"product": "asin"}))
    assert (report.created, report.updated, report.rejected) == (0, 3, 2)
    assert ProductQuestion.objects.count() == 3


def test_preset_amazon_qa_sets_the_source_and_an_edited_answer_is_a_new_row(tmp_path: Path) -> None:
    make_product(sku="B0001")
    rows = _rows()[:1]
    run_import(_export(tmp_path, rows), build_options("questions", preset="amazon-qa"))
    question = ProductQuestion.objects.get()
    assert question.source == "amazon" and question.language == ""
    rows[0][5] = "Yes, up to 11 inches."
    run_import(_export(tmp_path, rows), build_options("questions", preset="amazon-qa"))
    assert ProductQuestion.objects.count() == 2  # a question with two answers keeps both (exports repeat them)


def test_external_id_column_is_the_key_when_given(tmp_path: Path) -> None:
    make_product(sku="B0001")
    path = tmp_path / "qa.jsonl"
    path.write_text(
        '{"id": "q-1", "sku": "B0001", "question": "Colour?", "answer": "Red."}\n'
        '{"id": "q-1", "sku": "B0001", "question": "Colour?", "answer": "Red and blue."}\n'
    )
    report = run_import(path, build_options("questions", mapping={"external_id": "id", "product": "sku"}))
    assert report.rejected == 0
    assert ProductQuestion.objects.get(external_id="q-1").answer == "Red and blue."


def test_questions_cannot_create_missing_products() -> None:
    with pytest.raises(ImportConfigError, match="not to questions"):
        build_options("questions", create_missing=True)


def test_an_import_queues_one_index_job(tmp_path: Path, settings: Any, run_on_commit: None) -> None:
    make_product(sku="B0001")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    Job.objects.all().delete()
    run_import(_export(tmp_path, _rows()[:2]), build_options("questions", preset="amazon-qa"))
    assert Job.objects.filter(kind="index_knowledge", status=JobStatus.QUEUED).count() == 1
