"""The import itself (ingest/importing.py): options and presets, mapping, validation reports, idempotence.
Reading files is in test_reading.py."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Product, Review
from customers.models import Customer, Event
from ingest.errors import ImportConfigError, ImportFileError
from ingest.importing import run_import
from ingest.options import build_options, parse_pairs
from ingest.report import format_report
from tests.catalog.builders import product
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db

Write = Callable[..., Path]


def lines_and_fields(report: Any) -> list[tuple[int, str]]:
    return [(error.index, error.field) for error in report.errors]


# --- products: create, then update on a second run --------------------------------------------------------

def test_products_csv_created_then_updated_not_duplicated(write: Write) -> None:
    path = write("products.csv", "sku,title,price,currency\nA1,Mug,9.50,usd\nB2,Teapot,25,EUR\n")
    first = run_import(path, build_options("products"))
    assert (first.rows, first.created, first.updated, first.rejected) == (2, 2, 0, 0)
    assert first.columns == {"sku": "sku", "title": "title", "price": "price", "currency": "currency"}

    write("products.csv", "sku,title,price,currency\nA1,Mug (large),9.90,usd\nB2,Teapot,25,EUR\n")
    second = run_import(path, build_options("products"))
    assert (second.created, second.updated, second.rejected) == (0, 2, 0)
    assert Product.objects.count() == 2
    mug = Product.objects.get(sku="A1")
    assert (mug.title, mug.price, mug.currency) == ("Mug (large)", Decimal("9.90"), "USD")


def test_empty_values_do_not_overwrite_stored_ones(write: Write) -> None:
    product(sku="A1", title="Mug", description="Stoneware, 350 ml", brand="Acme")
    path = write("p.csv", "sku,title,description,brand\nA1,Mug,,  \n")
    report = run_import(path, build_options("products"))
    assert report.updated == 1
    mug = Product.objects.get(sku="A1")
    assert (mug.description, mug.brand) == ("Stoneware, 350 ml", "Acme")


def test_header_names_match_fields_case_insensitively_and_extra_columns_are_ignored(write: Write) -> None:
    path = write("p.csv", "SKU,Title,Colour\nA1,Mug,red\n")
    report = run_import(path, build_options("products"))
    assert report.created == 1
    assert report.columns == {"sku": "SKU", "title": "Title"}
    assert report.ignored_columns == ["Colour"]


# --- mapping, constants, dotted attributes ----------------------------------------------------------------

def test_mapping_constants_and_dotted_attributes(write: Write) -> None:
    product(sku="K-1", title="Old", attributes={"material": "wool", "colour": "grey"})
    path = write(
        "export.csv",
        "Code,Name,Cost,Colour,Size\nK-1,Knitted hat,12.00,red,M\nK-2,Scarf,15.5,blue,\n",
    )
    options = build_options(
        "products",
        mapping=parse_pairs(["sku=Code,title=Name", "price=Cost", "attributes.colour=Colour", "attributes.size=Size"]),
        constants=parse_pairs(["currency=eur", "brand=Acme"]),
    )
    report = run_import(path, options)
    assert (report.created, report.updated, report.rejected) == (1, 1, 0)
    hat, scarf = Product.objects.get(sku="K-1"), Product.objects.get(sku="K-2")
    assert (hat.title, hat.price, hat.currency, hat.brand) == ("Knitted hat", Decimal("12.00"), "EUR", "Acme")
    # dotted keys are merged into the stored object: the material stays, the colour is replaced
    assert hat.attributes == {"material": "wool", "colour": "red", "size": "M"}
    assert scarf.attributes == {"colour": "blue"}  # an empty Size sets no key
    assert report.constants == {"currency": "eur", "brand": "Acme"}


def test_a_json_column_is_parsed(write: Write) -> None:
    path = write("p.csv", 'sku,title,attributes\nA1,Mug,"{""colour"": ""red""}"\nB2,Cup,{not json\n')
    report = run_import(path, build_options("products"))
    assert Product.objects.get(sku="A1").attributes == {"colour": "red"}
    assert [(e.index, e.field) for e in report.errors] == [(3, "attributes")]
    assert report.errors[0].message.startswith("not valid JSON")


def test_parse_pairs_keeps_commas_inside_a_value() -> None:
    assert parse_pairs("attributes.note=a,b") == {"attributes.note": "a,b"}
    assert parse_pairs("sku=Code, title=Name\nprice=Cost") == {"sku": "Code", "title": "Name", "price": "Cost"}
    with pytest.raises(ImportConfigError, match="write field=value"):
        parse_pairs(["sku"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "orders"}, "unknown kind 'orders'; choose one of: products, customers, reviews, events"),
        ({"kind": "products", "mapping": {"prise": "Cost"}}, "unknown field 'prise' for products; fields: "),
        ({"kind": "products", "mapping": {"title.x": "Name"}}, "only a JSON field"),
        ({"kind": "products", "mapping": {"sku": "A"}, "constants": {"sku": "B"}}, "both a column and a constant"),
        ({"kind": "products", "encoding": "klingon"}, "unknown encoding 'klingon'"),
        ({"kind": "products", "file_format": "xlsx"}, "unknown format 'xlsx'"),
        ({"kind": "products", "preset": "shopify"}, "unknown preset 'shopify'"),
        ({"kind": "reviews", "preset": "online-retail"}, "preset 'online-retail' has nothing for reviews"),
        ({"kind": "products", "create_missing": True}, "applies to events, not to products"),
        ({"kind": "events", "date_format": "dd/mm/yyyy"}, "has no % directive"),
        ({"kind": "products", "batch_size": 0}, "batch size must be between"),
        ({"kind": "products", "mappings": {"sku": "Code"}}, "unknown option mappings; options: preset, mapping"),
    ],
)
def test_bad_options_are_refused_before_reading(kwargs: dict[str, Any], message: str) -> None:
    kwargs = dict(kwargs)
    kind = kwargs.pop("kind")
    with pytest.raises(ImportConfigError, match=message.replace("(", r"\(")):
        build_options(kind, **kwargs)


# --- the Online Retail export, through its preset ---------------------------------------------------------

def _import_online_retail(path: Path) -> dict[str, Any]:
    kinds = ("products", "customers", "events")
    return {kind: run_import(path, build_options(kind, preset="online-retail")) for kind in kinds}


def test_online_retail_preset_imports_products_customers_and_events(online_retail: Path) -> None:
    reports = _import_online_retail(online_retail)
    products, customers, events = reports["products"], reports["customers"], reports["events"]

    assert (products.rows, products.created, products.updated, products.rejected, products.merged) == (15, 10, 0, 1, 4)
    assert [(e.index, e.field, e.message) for e in products.errors] == [
        (10, "title", "This field is required, but column Description is empty.")
    ]
    heart = Product.objects.get(sku="85123A")
    assert (heart.price, heart.currency) == (Decimal("2.95"), "GBP")  # the last line of the stock code wins
    assert Product.objects.get(sku="22745").title == "POPPY'S PLAYHOUSE BEDROOM"  # values are stripped
    assert Product.objects.get(sku="21624").title == "VINTAGE UNION JACK DOORSTOP, RED"
    assert Product.objects.filter(sku__in=["POST", "D", "M"]).count() == 3

    assert (customers.created, customers.rejected) == (5, 3)
    assert {e.index for e in customers.errors} == {10, 11, 16}
    assert customers.errors[0].message == "This field is required, but column CustomerID is empty."
    assert Customer.objects.get(external_id="12583").attributes == {"country": "France"}

    assert (events.rows, events.created, events.rejected, events.merged) == (15, 10, 4, 1)
    assert lines_and_fields(events) == [
        (9, "quantity"), (10, "customer"), (10, "product"), (11, "customer"), (16, "customer")
    ]
    assert "must be a positive whole number" in events.errors[0].message
    assert events.errors[2].message == "Object with sku=22139 does not exist."

    bird = Event.objects.get(order_id="536367", product__sku="84879")
    assert (bird.type, bird.quantity, bird.value) == ("purchase", 32, Decimal("54.08"))  # 32 x 1.69
    assert bird.customer.external_id == "13047"
    assert bird.occurred_at == timezone.make_aware(datetime(2010, 12, 1, 8, 34))
    late = Event.objects.get(order_id="536597")
    assert late.occurred_at == timezone.make_aware(datetime(2010, 12, 13, 9, 0))  # dd/mm: the 13th of December
    assert late.value == Decimal("22.20")


def test_online_retail_import_twice_stores_nothing_twice(online_retail: Path) -> None:
    _import_online_retail(online_retail)
    counts = (Product.objects.count(), Customer.objects.count(), Event.objects.count())
    again = _import_online_retail(online_retail)
    assert (Product.objects.count(), Customer.objects.count(), Event.objects.count()) == counts == (10, 5, 10)
    assert [again[k].created for k in ("products", "customers", "events")] == [0, 0, 0]
    assert [again[k].updated for k in ("products", "customers", "events")] == [10, 5, 10]


def test_events_preset_creates_missing_customers_without_a_customer_import(online_retail: Path) -> None:
    run_import(online_retail, build_options("products", preset="online-retail"))
    report = run_import(online_retail, build_options("events", preset="online-retail"))
    assert report.created == 10
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"17850", "13047", "12583", "12431"}


def test_explicit_options_override_the_preset(online_retail: Path) -> None:
    options = build_options(
        "products", preset="online-retail", mapping={"currency": "Country"}, constants={"brand": "X"}
    )
    assert options.mapping == {"sku": "StockCode", "title": "Description", "price": "UnitPrice", "currency": "Country"}
    assert options.constants == {"brand": "X"}  # currency=GBP gave way to the mapped column


# --- malformed files: clear errors, nothing half-written --------------------------------------------------

def test_missing_mapped_column_is_an_error_and_nothing_is_written(write: Write) -> None:
    path = write("p.csv", "Code,Name\nA1,Mug\n")
    options = build_options("products", mapping={"sku": "Code", "title": "Title", "price": "Cost"})
    with pytest.raises(ImportFileError) as caught:
        run_import(path, options)
    assert str(caught.value) == (
        "missing columns Title, Cost: not in the file's header. Available columns: Code, Name"
    )
    assert Product.objects.count() == 0


def test_jsonl_mapping_is_checked_against_the_keys_of_every_record(write: Write) -> None:
    path = write("p.ndjson", '{"id": "A1", "name": "Mug"}\n')
    expected = r"missing column title: not in the file's records\. Available columns: id, name"
    with pytest.raises(ImportFileError, match=expected):
        run_import(path, build_options("products", mapping={"sku": "id", "title": "title"}))


def test_bad_values_are_reported_with_line_and_field_while_good_rows_are_stored(write: Write) -> None:
    products = write("p.csv", "sku,title,price,currency\nA1,Mug,-3,GBP\nB2,Teapot,25,GBP\nC3,,x,POUNDS\n")
    report = run_import(products, build_options("products"))
    assert (report.created, report.rejected) == (1, 2)
    assert [(e.index, e.field, e.message) for e in report.errors] == [
        (2, "price", "must not be negative"),
        (4, "title", "This field is required, but column title is empty."),
        (4, "price", "A valid number is required."),
        (4, "currency", "Ensure this field has no more than 3 characters."),
    ]
    assert list(Product.objects.values_list("sku", flat=True)) == ["B2"]

    reviews = write(
        "r.csv",
        "external_id,product,rating,text\nr1,B2,5,Lovely\nr2,B2,9,Too good\nr3,ZZ,4,Fine\nr4,B2,,\n",
    )
    report = run_import(reviews, build_options("reviews"))
    assert report.created == 1
    assert [(e.index, e.field, e.message) for e in report.errors] == [
        (3, "rating", "Ensure this value is less than or equal to 5."),
        (4, "product", "Object with sku=ZZ does not exist."),
        (5, "text", "a review needs a text or a title"),
    ]
    assert list(Review.objects.values_list("external_id", flat=True)) == ["r1"]


def test_dates_that_do_not_match_the_format_are_rejected(write: Write) -> None:
    customer(external_id="c1")
    path = write("e.csv", "customer,type,query,occurred_at\nc1,search,mug,01/12/2010 08:26\nc1,search,cup,2010-12-01\n")
    report = run_import(path, build_options("events", date_format="%d/%m/%Y %H:%M"))
    assert report.created == 1
    assert [(e.index, e.field, e.message) for e in report.errors] == [
        (3, "occurred_at", "'2010-12-01' does not match the date format %d/%m/%Y %H:%M")
    ]


def test_iso_dates_without_a_format(write: Write) -> None:
    customer(external_id="c1")
    path = write("e.csv", "customer,type,query,occurred_at\nc1,search,mug,2010-12-01T08:26:00Z\n")
    run_import(path, build_options("events"))
    assert Event.objects.get().occurred_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)


def test_nul_characters_are_rejected_not_sent_to_the_database(write: Write) -> None:
    path = write("p.csv", "sku,title\nA1,Mug\x00\nB2,Cup\n")
    report = run_import(path, build_options("products"))
    assert report.created == 1
    assert [(e.index, e.field) for e in report.errors] == [(2, "title")]


# --- the report --------------------------------------------------------------------------------------------

def test_many_rejections_are_summarised_by_reason_and_all_written_to_the_errors_file(
    write: Write, tmp_path: Path
) -> None:
    customer(external_id="c1")
    rows = [f"c1,view,SKU{i}" for i in range(30)] + [",view,SKU0"] * 5
    path = write("e.csv", "customer,type,product\n" + "\n".join(rows) + "\n")
    errors_file = tmp_path / "errors.csv"
    report = run_import(path, build_options("events"), errors_path=errors_file, max_errors=10)

    assert report.rejected == 35
    assert len(report.errors) == 10 and report.error_count == 40
    assert [(r.field, r.reason, r.count, r.first_line) for r in report.reasons()] == [
        ("product", "Object with sku=… does not exist.", 35, 2),
        ("customer", "This field is required, but column customer is empty.", 5, 32),
    ]
    with errors_file.open(newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["line", "field", "message"]
    assert len(written) == 41
    assert written[1] == ["2", "product", "Object with sku=SKU0 does not exist."]

    text = format_report(report, show_errors=3)
    assert "created 0, updated 0, rejected 35" in text
    assert "Rejections (first 3 of 40 errors in 35 rows):" in text
    assert "  line 2, field product: Object with sku=SKU0 does not exist." in text
    assert "35  product: Object with sku=… does not exist.  (first on line 2)" in text

    data = report.as_dict()
    assert data["errors"][0] == {"line": 2, "field": "product", "message": "Object with sku=SKU0 does not exist."}
    assert data["errors_truncated"] is True
    assert data["reasons"][0]["count"] == 35


def test_unwritable_errors_file_is_refused_before_importing(write: Write, tmp_path: Path) -> None:
    path = write("p.csv", "sku,title\nA1,Mug\n")
    with pytest.raises(ImportConfigError, match="cannot write the errors file"):
        run_import(path, build_options("products"), errors_path=tmp_path / "no" / "such" / "dir.csv")
    assert Product.objects.count() == 0
