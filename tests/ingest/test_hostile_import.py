"""Property-based tests (Hypothesis) of the import with hostile files: CSV cells of any text (NUL bytes,
huge and overlong values, formula-injection cells, control characters), bytes that are not UTF-8, and JSON
Lines with wrong types, lone surrogates and repeated keys. Whatever the file holds, `run_import` either
refuses the whole file before writing anything (a reason naming the line) or reports each row written or
rejected with its line and field; the table grows by exactly the rows reported created (no half-write),
and nothing else is raised.

Deterministic (derandomized) and bounded: EXAMPLES examples a test."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.models import Product
from customers.models import Customer, Event
from ingest.errors import DataImportError
from ingest.importing import run_import
from ingest.options import build_options
from ingest.report import ErrorFile, ImportReport, spreadsheet_safe
from tests.catalog.builders import product
from tests.customers.builders import customer
from tests.hostile import FORMULAS, bounded, hostile_json, hostile_text

pytestmark = pytest.mark.django_db

EXAMPLES = 30
BOUNDED = bounded(EXAMPLES)
BAD_BYTES = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\x80abc"]

csv_rows = st.lists(
    st.fixed_dictionaries({
        "sku": st.one_of(st.sampled_from(["A1", "A2", " A1", "a1"]), hostile_text()),
        "title": st.one_of(st.sampled_from(["Mug", *FORMULAS]), hostile_text()),
        "price": st.one_of(st.sampled_from(["9.50", "", "-1"]), hostile_text()),
        "currency": st.one_of(st.just("EUR"), hostile_text()),
    }),
    min_size=1, max_size=6,
)


def import_bytes(content: bytes, suffix: str, kind: str, **choices: Any) -> ImportReport:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"hostile{suffix}"
        path.write_bytes(content)
        return run_import(path, build_options(kind, **choices))


def check_import(model: type[Product | Event], content: bytes, suffix: str, kind: str, first_line: int,
                 **choices: Any) -> ImportReport | None:
    """The properties every import keeps; returns the report, or None when the file was refused whole."""
    before = model._default_manager.count()
    try:
        report = import_bytes(content, suffix, kind, **choices)
    except DataImportError as refused:
        assert model._default_manager.count() == before  # refused before anything was written
        assert "line" in str(refused) or "column" in str(refused), str(refused)
        return None
    assert model._default_manager.count() == before + report.created
    assert report.merged >= 0  # created + updated + rejected never exceed the rows read
    lines = {error.index for error in report.errors}
    assert report.rejected == len(lines)
    assert all(error.index >= first_line and error.field and error.message for error in report.errors)
    return report


@BOUNDED
@given(rows=csv_rows, bad=st.one_of(st.none(), st.tuples(st.integers(0, 5), st.sampled_from(BAD_BYTES))))
def test_hostile_csv_products(rows: list[dict[str, str]], bad: tuple[int, bytes] | None) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["sku", "title", "price", "currency"])
    writer.writeheader()
    writer.writerows(rows)
    lines = text.getvalue().encode().split(b"\r\n")
    if bad is not None:  # bytes that are no UTF-8, in one line
        at = 1 + bad[0] % (len(lines) - 1)
        lines[at] = bad[1] + lines[at]
    report = check_import(Product, b"\r\n".join(lines), ".csv", "products", first_line=2)
    if bad is not None:
        assert report is None  # a wrong encoding refuses the file, naming its line


@BOUNDED
@given(
    rows=st.lists(
        st.one_of(
            st.fixed_dictionaries({}, optional={
                "external_id": st.one_of(st.just("e-1"), hostile_json()),
                "customer": st.one_of(st.just("ann"), hostile_json()),
                "type": st.one_of(st.sampled_from(["view", "purchase"]), hostile_json()),
                "product": st.one_of(st.just("MUG"), hostile_json()),
                "quantity": hostile_json(), "occurred_at": hostile_json(), "attributes": hostile_json(),
            }),
            hostile_json(),  # a line that is no object
        ),
        min_size=1, max_size=6,
    ),
    repeat_key=st.booleans(),
)
def test_hostile_jsonl_events(rows: list[Any], repeat_key: bool) -> None:
    if not Customer.objects.filter(external_id="ann").exists():
        customer(external_id="ann")
        product(sku="MUG")
    lines = [json.dumps(row) for row in rows]
    if repeat_key:  # the same key twice in one object: refused, as the API refuses it
        lines.append('{"customer": "ann", "type": "view", "type": "purchase", "product": "MUG"}')
    report = check_import(Event, ("\n".join(lines) + "\n").encode(), ".jsonl", "events", first_line=1)
    if report is None:  # no line held an object: the file is refused whole
        return
    assert report.rows == len(lines)
    if repeat_key:
        assert any(e.index == len(lines) and "duplicate key" in e.message for e in report.errors)


def test_nul_bytes_in_a_csv_cell_are_a_row_error() -> None:
    report = import_bytes(b"sku,title\nN1,Mug\x00Cup\nN2,Teapot\n", ".csv", "products")
    assert (report.created, report.rejected) == (1, 1)
    assert [(e.index, e.field) for e in report.errors] == [(2, "title")]
    assert "NUL" in report.errors[0].message


def test_formula_cells_are_stored_as_text_and_neutralised_in_the_rejections_csv(tmp_path: Path) -> None:
    """A formula is data: stored as it was sent, never evaluated. The one CSV the platform writes from
    imported values (the rejections file, downloaded from the admin) prefixes such cells with a quote."""
    content = "sku,title,price\nF1,=cmd|' /C calc'!A0,1\nF2,+1+1,=2+5\n"
    report = import_bytes(content.encode(), ".csv", "products")
    assert Product.objects.get(sku="F1").title == "=cmd|' /C calc'!A0"
    assert [(e.index, e.field) for e in report.errors] == [(3, "price")]
    errors = tmp_path / "errors.csv"
    with ErrorFile(errors) as sink:
        sink.write([type(report.errors[0])(3, "=field", "=HYPERLINK(\"http://evil.example\")")])
    cells = list(csv.reader(errors.open(encoding="utf-8")))[1]
    assert cells == ["3", "'=field", "'=HYPERLINK(\"http://evil.example\")"]
    assert [spreadsheet_safe(v) for v in ["=1", "+1", "-1", "@A", "\t=1", "plain", "1.5"]] == [
        "'=1", "'+1", "'-1", "'@A", "'\t=1", "plain", "1.5",
    ]
