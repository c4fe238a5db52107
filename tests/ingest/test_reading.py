"""Reading import files (ingest/reading.py), through the import: formats, gzip, encodings, broken lines,
and line numbers that survive batches."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Product
from ingest.errors import ImportConfigError, ImportFileError
from ingest.importing import run_import
from ingest.options import build_options

pytestmark = pytest.mark.django_db

Write = Callable[..., Path]


def test_jsonl_broken_lines_are_rejected_by_number_and_the_others_written(write: Write) -> None:
    path = write(
        "products.jsonl",
        '{"sku": "A1", "title": "Mug", "price": 9.5, "attributes": {"colour": "red"}}\n'
        '{"sku": "B2", "title": "Teapot"\n'
        '{"sku": "C3", "title": "Cup", "price": null}\n'
        '["not", "an", "object"]\n'
        "\n"
        '{"sku": "D4", "title": "Saucer", "in_stock": false}\n',
    )
    report = run_import(path, build_options("products"))
    assert (report.created, report.rejected) == (3, 2)
    assert [(e.index, e.message) for e in report.errors] == [
        (2, "not valid JSON: Expecting ',' delimiter (column 32)"),
        (4, "expected a JSON object, found list"),
    ]
    assert Product.objects.get(sku="A1").attributes == {"colour": "red"}
    assert Product.objects.get(sku="D4").in_stock is False


def test_bad_encoding_names_the_line_and_writes_nothing(write: Write) -> None:
    path = write("p.csv", "sku,title\nA1,Mug\nB2,Caf\xe9 cup\n".encode("latin-1"))
    with pytest.raises(ImportFileError) as caught:
        run_import(path, build_options("products"))
    assert str(caught.value).startswith("line 3 is not valid utf-8 (byte 0xe9)")
    assert "latin-1" in str(caught.value)
    assert Product.objects.count() == 0  # the first pass found it before any batch was written

    report = run_import(path, build_options("products", encoding="latin-1"))
    assert report.created == 2
    assert Product.objects.get(sku="B2").title == "Café cup"


def test_utf8_byte_order_mark_is_ignored(write: Write) -> None:
    path = write("p.csv", "\ufeffsku,title\nA1,Mug\n")
    assert run_import(path, build_options("products")).created == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "empty.csv is empty: a CSV file needs a header line"),
        ("blank.csv", "\n\n", "blank.csv is empty: a CSV file needs a header line"),
        ("empty.jsonl", "\n", "empty.jsonl is empty: JSON Lines needs one JSON object per line"),
        ("array.jsonl", '[{"sku": "A1"}]\n', "array.jsonl holds no JSON object on any line"),
        ("data.xlsx", "x", "cannot tell the format of 'data.xlsx' from its name"),
        ("fake.csv.gz", "sku,title\n", "cannot read fake.csv.gz: Not a gzipped file"),
    ],
)
def test_unusable_files_are_refused(write: Write, name: str, content: str, message: str) -> None:
    path = write(name, content)
    with pytest.raises((ImportFileError, ImportConfigError), match=message.replace("(", r"\(")):
        run_import(path, build_options("products"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"cannot open .*nope\.csv: no such file"):
        run_import(tmp_path / "nope.csv", build_options("products"))


def test_header_only_file_imports_nothing(write: Write) -> None:
    report = run_import(write("p.csv", "sku,title\n"), build_options("products"))
    assert (report.rows, report.created, report.rejected) == (0, 0, 0)


def test_rows_with_the_wrong_number_of_values_are_rejected(write: Write) -> None:
    path = write("p.csv", "sku,title,price\nA1,Mug\nB2,Cup,3,,\nC3,Pot,4,x\n")
    report = run_import(path, build_options("products"))
    assert report.created == 1  # B2: trailing empty values are harmless
    assert [(e.index, e.message) for e in report.errors] == [
        (2, "has 2 values but the header has 3 columns"),
        (4, "has 4 values but the header has 3 columns"),
    ]


def test_line_numbers_survive_batches_blank_lines_and_multiline_values(write: Write) -> None:
    path = write(
        "p.csv",
        'sku,title,description,price\nA1,Mug,"two\nlines",1\n\nB2,Cup,,-1\nC3,Pot,,2\nD4,Jug,,-2\n',
    )
    seen: list[tuple[Any, ...]] = []

    class Recorder:
        def set_total(self, total: int) -> None:
            seen.append(("total", total))

        def advance(self, done: int = 1, **counts: int) -> None:
            seen.append(("done", done, counts))

        def stage(self, name: str) -> None:
            seen.append(("stage", name))

    report = run_import(path, build_options("products", batch_size=2), progress=Recorder())
    assert [(e.index, e.field) for e in report.errors] == [(5, "price"), (7, "price")]
    assert Product.objects.get(sku="A1").description == "two\nlines"
    batch = {"created": 1, "updated": 0, "rejected": 1}
    assert seen == [
        ("stage", "reading the file"), ("total", 4), ("stage", "importing"), ("done", 2, batch), ("done", 2, batch)
    ]


def test_gzip_and_tsv(write: Write) -> None:
    path = write("p.tsv.gz", gzip.compress(b"sku\ttitle\nA1\tMug, large\n"))
    report = run_import(path, build_options("products"))
    assert (report.file_format, report.created) == ("tsv", 1)
    assert Product.objects.get().title == "Mug, large"


def test_explicit_format_overrides_the_extension(write: Write) -> None:
    path = write("export.txt", '{"sku": "A1", "title": "Mug"}\n')
    assert run_import(path, build_options("products", file_format="jsonl")).created == 1


def _bomb(path: Path, header: bytes, line_bytes: int, lines: int = 1) -> Path:
    """A gzip file whose data line(s) of `line_bytes` each compress to almost nothing."""
    block = b"a" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header)
        for _ in range(lines):
            left = line_bytes
            while left > 0:
                out.write(block[: min(left, len(block))])
                left -= len(block)
            out.write(b"\n")
    return path


def test_a_gzip_line_that_expands_without_end_stops_naming_the_line(tmp_path: Path, settings: Any) -> None:
    import tracemalloc

    settings.IMPORT_MAX_LINE_CHARS = 1024 * 1024
    path = _bomb(tmp_path / "products.csv.gz", b"sku,title\n", 64 * 1024 * 1024)  # 64 MiB in about 64 KiB
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError, match=r"line 2 is longer than 1,048,576 characters"):
            run_import(path, build_options("products"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the line was never held whole
    assert Product.objects.count() == 0


def test_a_gzip_file_that_expands_past_the_limit_stops_naming_the_line(tmp_path: Path, settings: Any) -> None:
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024
    path = _bomb(tmp_path / "products.jsonl.gz", b"", 100_000, lines=100)  # 10 MB of short-enough lines
    with pytest.raises(ImportFileError, match=r"line \d+: products.jsonl.gz expands to more than 4,194,304 bytes"):
        run_import(path, build_options("products"))
