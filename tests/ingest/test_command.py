"""`manage.py import_data`: arguments, output, exit status."""

from __future__ import annotations

import csv
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product
from customers.models import Customer, Event
from tests.catalog.builders import product

pytestmark = pytest.mark.django_db

Write = Callable[..., Path]


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_data", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_command_reports_counts_and_rejections_with_line_field_and_reason(write: Write, tmp_path: Path) -> None:
    path = write("products.csv", "sku,title,price\nA1,Mug,9.5\nB2,Teapot,-1\nC3,Cup,2\n")
    errors = tmp_path / "rejected.csv"
    output = run("products", str(path), "--errors", str(errors))
    assert "Imported products from products.csv (csv): 3 rows" in output
    assert "created 2, updated 0, rejected 1" in output
    assert "line 3, field price: must not be negative" in output
    assert "1  price: must not be negative  (first on line 3)" in output
    assert f"Every rejection is in {errors}" in output
    with errors.open(newline="") as handle:
        assert list(csv.reader(handle)) == [["line", "field", "message"], ["3", "price", "must not be negative"]]

    again = run("products", str(path))
    assert "created 0, updated 2, rejected 1" in again
    assert Product.objects.count() == 2


def test_command_mapping_constants_and_date_format(write: Write) -> None:
    product(sku="A1", title="Mug")
    path = write("orders.csv", "Who,What,When,Qty,Each,Where\nu1,A1,13/12/2010 09:00,2,1.50,Paris\n")
    output = run(
        "events", str(path),
        "--map", "customer=Who,product=What,occurred_at=When",
        "--map", "quantity=Qty", "--map", "unit_price=Each", "--map", "attributes.city=Where",
        "--set", "type=purchase",
        "--date-format", "%d/%m/%Y %H:%M",
        "--create-missing-customers",
    )
    assert "created 1, updated 0, rejected 0" in output
    assert "type='purchase'" in output
    event = Event.objects.get()
    assert (event.customer.external_id, event.value, event.attributes) == ("u1", 3, {"city": "Paris"})
    assert event.occurred_at.day == 13


def test_command_online_retail_preset(online_retail: Path) -> None:
    for kind in ("products", "customers", "events"):
        run(kind, str(online_retail), "--preset", "online-retail")
    output = run("events", str(online_retail), "--preset", "online-retail", "--show-errors", "2")
    assert "created 0, updated 10, rejected 4, merged 1" in output
    assert "Rejections (first 2 of 5 errors in 4 rows):" in output
    assert "line 9, field quantity: must be a positive whole number" in output
    assert "customer: This field is required, but column CustomerID is empty.  (first on line 10)" in output
    assert (Customer.objects.count(), Event.objects.count()) == (5, 10)


def test_without_the_option_missing_customers_are_rejected(write: Write) -> None:
    path = write("e.csv", "customer,type,query\nnobody,search,mug\n")
    output = run("events", str(path))
    assert "line 2, field customer: Object with external_id=nobody does not exist." in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["orders", "x.csv"], "invalid choice: 'orders'"),
        (["products", "{missing}"], "cannot open .*nope.csv: no such file"),
        (["products", "{file}", "--map", "sku=Code"], "missing column Code: not in the file's header"),
        (["products", "{file}", "--map", "sku"], "bad mapping 'sku': write field=value"),
        (["products", "{file}", "--set", "colour=red"], "unknown field 'colour' for products"),
        (["products", "{bad}"], "line 2 is not valid utf-8"),
        (["products", "{empty}"], "is empty"),
        (["reviews", "{file}", "--preset", "online-retail"], "preset 'online-retail' has nothing for reviews"),
    ],
)
def test_command_fails_clearly_when_it_cannot_import(
    write: Write, tmp_path: Path, args: list[str], message: str
) -> None:
    files = {
        "file": write("p.csv", "sku,title\nA1,Mug\n"),
        "missing": tmp_path / "nope.csv",
        "bad": write("bad.csv", b"sku,title\nA1,\xff\n"),
        "empty": write("empty.csv", ""),
    }
    args = [arg.format(**files) for arg in args]
    with pytest.raises(CommandError, match=message):
        call_command("import_data", *args, "--no-progress", stdout=StringIO())
    assert Product.objects.count() == 0


def test_progress_bar_goes_to_stderr(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write("p.csv", "sku,title\nA1,Mug\nB2,Cup\n")
    call_command("import_data", "products", str(path), stdout=StringIO())
    assert "2/2" in capsys.readouterr().err
