"""evaluate_assistant on a tiny invented Q&A file: stable JSON keys, sane numbers, the shop's data untouched;
and its errors (missing column, bad k, empty file, a broken line)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assistant.models import KnowledgeChunk
from catalog.models import Product

ROWS = [
    ("K1", "How long is the power cord?", "The power cord is seventy five centimetres long."),
    ("K1", "Does it switch off by itself?", "Yes, it switches off automatically once the water boils."),
    ("K1", "Is the inside plastic?", "No, the inside is brushed stainless steel with no plastic."),
    ("V2", "How long does the battery last?", "The battery runs for forty minutes on the eco setting."),
    ("V2", "Is it good with pet hair?", "Yes, the motorised brush picks up dog and cat hair easily."),
    ("V2", "Can I wash the filter?", "The filter can be rinsed under cold water once a month."),
    ("G3", "How many grind settings?", "There are eighteen settings from espresso fine to coarse."),
    ("G3", "Is it loud?", "It is quieter than blade grinders, around seventy decibels."),
    ("G3", "Short one?", "Yes."),  # under 25 characters: skipped
    ("T4", "Does the toaster fit bagels?", "The wide slots take bagels and thick slices of bread."),
    ("T4", "Is there a crumb tray?", "A removable crumb tray slides out from the back."),
    ("B5", "Can it crush ice?", "The blender crushes ice in a few seconds on the pulse setting."),
    ("B5", "Is the jug glass?", "The jug is made of thick borosilicate glass, not plastic."),
]


HEADER = ("asin", "question", "answer")


def write_csv(path: Path, rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(path: Path, *extra: str) -> str:
    out = StringIO()
    call_command(
        "evaluate_assistant", "--input", str(path), "--question-column", "question", "--answer-column", "answer",
        "--group-column", "asin", *extra, stdout=out,
    )
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["group", "store"])
def test_json_report_has_every_method_and_sane_numbers(tmp_path: Path, scope: str) -> None:
    products_before = Product.objects.count()
    report = json.loads(run(write_csv(tmp_path / "qa.csv", ROWS), "--format", "json", "--scope", scope))
    assert report["questions"] == 12 and report["groups"] == 5 and report["skipped_short_answers"] == 1
    assert report["scope"] == scope and report["k"] == 10
    assert set(report["methods"]) == {"text", "vector", "rrf", "fusion"}
    for metrics in report["methods"].values():
        assert set(metrics) == {"mrr_at_k", "recall_at_1", "recall_at_5"}
        assert 0.0 <= metrics["recall_at_1"] <= metrics["recall_at_5"] <= 1.0
        assert metrics["recall_at_1"] <= metrics["mrr_at_k"] <= 1.0
    assert report["methods"]["vector"]["mrr_at_k"] > 0.6  # distinct topics: the answer is easy to find
    assert [s["measured_on_half"] for s in report["fusion_settings"]] == [0, 1]
    for s in report["fusion_settings"]:
        assert 0.0 <= s["weight"] <= 1.0
    gate = report["answerability"]
    for key in ("handoff_rate_answer_present", "handoff_rate_answer_removed", "balanced_accuracy"):
        assert 0.0 <= gate[key] <= 1.0
    latency = report["retrieval_latency"]
    assert latency["queries"] == 12 and 0 < latency["p50_ms"] <= latency["p95_ms"]
    # the file's answers lived in a rolled-back transaction
    assert KnowledgeChunk.objects.count() == 0 and Product.objects.count() == products_before


@pytest.mark.slow
@pytest.mark.django_db
def test_table_output_names_each_method(tmp_path: Path) -> None:
    text = run(write_csv(tmp_path / "qa.csv", ROWS), "--k", "5")
    assert "MRR@5" in text
    for method in ("text", "vector", "rrf", "fusion"):
        assert f"\n{method} " in text
    assert "hand-off rate" in text and "p95" in text


@pytest.mark.django_db
def test_a_missing_column_is_named_with_the_columns_present(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "qa.csv", ROWS, header=("product", "question", "answer"))
    with pytest.raises(CommandError, match=r"--group-column 'asin' is not a column of qa.csv; its columns: product"):
        run(path)


@pytest.mark.django_db
def test_bad_k_empty_file_and_broken_lines_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "qa.csv", ROWS)
    with pytest.raises(CommandError, match="--k 0: must be at least 1"):
        run(path, "--k", "0")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CommandError, match=r"empty\.csv is empty"):
        run(empty)
    header_only = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(CommandError, match="no question has an answer of 25 or more characters"):
        run(header_only)
    short = write_csv(tmp_path / "short.csv", [*ROWS[:3], ("K1", "What colour?")])
    with pytest.raises(CommandError, match="line 5: 2 values but the header has 3 columns"):
        run(short)
    no_group = write_csv(tmp_path / "nogroup.csv", [*ROWS[:3], ("", "Any good?", "It is very good for the money.")])
    with pytest.raises(CommandError, match="line 5: empty 'asin'"):
        run(no_group)
    missing = tmp_path / "missing.csv"
    with pytest.raises(CommandError, match="cannot open"):
        run(missing)


@pytest.mark.django_db
def test_temporary_knowledge_sits_beside_the_shops_own_chunks() -> None:
    """The shop's indexed answers (positive source ids) and the evaluation's rows never collide, and the
    evaluation's rows are gone afterwards."""
    from assistant.measuring import QA, temporary_knowledge

    product = Product.objects.create(sku="OWN-1", title="Kettle")
    own = KnowledgeChunk.objects.create(
        kind="question", source_id=1, position=0, product=product, title="Q", text="A", text_hash="x"
    )
    items = [
        QA(group="G", question="How long is the cord?", answer="The cord is seventy five centimetres.", line=2),
        QA(group="G", question="Is it loud?", answer="It is quieter than most kettles we sold.", line=3),
    ]
    unit = np.zeros((2, 384), dtype=np.float32)
    unit[:, 0] = 1.0
    with temporary_knowledge(items, lambda texts: unit) as knowledge:
        assert len(knowledge.chunks) == 2 and KnowledgeChunk.objects.count() == 3
    assert list(KnowledgeChunk.objects.all()) == [own]
