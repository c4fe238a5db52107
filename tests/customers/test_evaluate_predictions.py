"""`manage.py evaluate_predictions` on transactions files written here: how rows become orders, the errors that
name the line or column, both output formats, and the proof that nothing after the cutoff reaches a fit.

The synthetic history is a BG/NBD + Gamma-Gamma simulation (`evaluation.predictions.simulated_rows`); no test
reads ../shared."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from customers.predictions.backtest import METHODS, Prediction, predict_at_cutoff
from customers.predictions.history import to_days
from customers.predictions.transactions import read_transactions
from evaluation.predictions import simulated_rows

CUTOFF = "2024-10-01"  # the simulation runs 2024-01-01 to 2024-12-30: 274 days before, 91 after
COLUMNS = ["--customer-column", "customer", "--time-column", "ordered_at", "--value-column", "amount"]


def write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], delimiter: str = ",") -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = simulated_rows(400, seed=1)
    return write(tmp_path_factory.mktemp("tx") / "simulated.csv", ("customer", "ordered_at", "amount"), rows)


def run(*args: str) -> str:
    out = StringIO()
    call_command("evaluate_predictions", *args, stdout=out)
    return out.getvalue()


def test_lines_of_one_customer_at_one_time_are_one_order_and_refunds_reduce_it(tmp_path: Path) -> None:
    path = write(tmp_path / "lines.csv", ("who", "when", "price", "qty"), [
        ("a", "2024-01-01T10:00", "10", "2"),  # one order of three lines: 20 + 5 - 3 = 22
        ("a", "2024-01-01T10:00", "5", "1"),
        ("a", "2024-01-01T10:00", "3", "-1"),  # a returned line reduces its order
        ("a", "2024-01-03T09:00", "4", "-2"),  # a refund on its own: not an order, skipped and counted
        ("b", "2024-01-02 08:00:00", "7.5", "1"),
        ("", "2024-01-02T08:00", "100", "1"),  # a guest checkout: skipped and counted
        ("a", "2024-01-05", "0", "1"),  # a free replacement: an order of value 0
    ], delimiter=";")
    tx = read_transactions(path, customer_column="who", time_column="when", value_column="price",
                           quantity_column="qty")
    h = tx.history
    assert tx.customer_ids == ["a", "b"]
    assert tx.rows == 7
    assert h.o_cust.tolist() == [0, 0, 1]
    assert h.o_value.tolist() == [22.0, 0.0, 7.5]
    assert h.o_t.tolist() == [to_days(datetime(2024, 1, 1, 10, tzinfo=UTC)), to_days(datetime(2024, 1, 5, tzinfo=UTC)),
                              to_days(datetime(2024, 1, 2, 8, tzinfo=UTC))]
    assert tx.skipped == {"no_customer": 1, "negative_orders": 1, "negative_order_rows": 1}
    assert tx.skipped_rows == 2
    # activity: one purchase row per customer and order day, counting that day's orders
    assert sorted(zip(h.a_cust.tolist(), h.a_count.tolist(), strict=True)) == [(0, 1.0), (0, 1.0), (1, 1.0)]
    # without the quantity column the amount is the value
    plain = read_transactions(path, customer_column="who", time_column="when", value_column="price")
    assert plain.history.o_value.tolist() == [18.0, 4.0, 0.0, 7.5]  # the refund is a row of 4 now


def test_gzip_file_reads_as_the_plain_one(tmp_path: Path) -> None:
    rows = simulated_rows(50, seed=3)
    plain = read_transactions(write(tmp_path / "t.csv", ("customer", "ordered_at", "amount"), rows),
                              customer_column="customer", time_column="ordered_at", value_column="amount")
    packed = read_transactions(write(tmp_path / "t.csv.gz", ("customer", "ordered_at", "amount"), rows),
                               customer_column="customer", time_column="ordered_at", value_column="amount")
    assert packed.customer_ids == plain.customer_ids
    for name in ("o_cust", "o_t", "o_value", "a_cust", "a_t", "a_count"):
        assert np.array_equal(getattr(packed.history, name), getattr(plain.history, name))


def test_date_format_reads_day_first_dates(tmp_path: Path) -> None:
    rows = [("x", "01/12/2010 08:26", "3"), ("x", "13/12/2010 17:40", "4")]
    path = write(tmp_path / "dmy.csv", ("c", "d", "v"), rows)
    tx = read_transactions(path, customer_column="c", time_column="d", value_column="v", date_format="%d/%m/%Y %H:%M")
    assert tx.history.o_t.tolist() == [to_days(datetime(2010, 12, 1, 8, 26, tzinfo=UTC)),
                                       to_days(datetime(2010, 12, 13, 17, 40, tzinfo=UTC))]


def test_a_missing_column_is_named_with_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ("customer", "ordered_at", "total"), [("a", "2024-01-01", "1")])
    with pytest.raises(CommandError) as err:
        run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-01-02")
    assert str(err.value) == (
        "t.csv has no column 'amount' (--value-column); its columns are: 'customer', 'ordered_at', 'total'"
    )


def test_an_unreadable_date_names_its_line_and_value(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ("customer", "ordered_at", "amount"),
                 [("a", "2024-01-01", "1"), ("b", "2024-01-02", "2"), ("c", "13/01/2024", "3")])
    with pytest.raises(CommandError, match=r"line 4: column 'ordered_at' value '13/01/2024' is not a date in ISO 8601"):
        run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-01-02")
    with pytest.raises(CommandError, match=r"line 2: column 'ordered_at' value '2024-01-01' is not a date in "
                                           r"--date-format '%d/%m/%Y'"):
        run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-01-02", "--date-format", "%d/%m/%Y")


def test_a_non_numeric_amount_or_quantity_names_its_line_and_value(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ("customer", "ordered_at", "amount", "qty"),
                 [("a", "2024-01-01", "1", "1"), ("b", "2024-01-02", "£2", "1"), ("c", "2024-01-02", "2", "two")])
    with pytest.raises(CommandError, match=r"^line 3: column 'amount' value '£2' is not a number$"):
        run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-01-02")
    fixed = write(tmp_path / "u.csv", ("customer", "ordered_at", "amount", "qty"),
                  [("a", "2024-01-01", "1", "1"), ("c", "2024-01-02", "2", "two")])
    with pytest.raises(CommandError, match=r"^line 3: column 'qty' value 'two' is not a number$"):
        run("--transactions", str(fixed), *COLUMNS, "--quantity-column", "qty", "--cutoff", "2024-01-02")


def test_a_cutoff_outside_the_data_is_refused(simulated: Path) -> None:
    with pytest.raises(CommandError, match=r"the cutoff 2025-02-01 is after the last order \(2024-12-30\)"):
        run("--transactions", str(simulated), *COLUMNS, "--cutoff", "2025-02-01")
    with pytest.raises(CommandError, match=r"no customer ordered before the cutoff 2023-06-01 \(the first order is on "
                                           r"2024-01-01\)"):
        run("--transactions", str(simulated), *COLUMNS, "--cutoff", "2023-06-01")
    with pytest.raises(CommandError, match=r"--cutoff: 'soon' is not a date"):
        run("--transactions", str(simulated), *COLUMNS, "--cutoff", "soon")


def test_a_file_with_no_customer_before_the_cutoff_is_refused(tmp_path: Path) -> None:
    # orders before the cutoff exist only as guest checkouts and a refund: nobody to predict for
    path = write(tmp_path / "t.csv", ("customer", "ordered_at", "amount"), [
        ("", "2024-01-01", "5"), ("a", "2024-01-02", "-5"), ("a", "2024-03-01", "5"), ("b", "2024-03-02", "6"),
    ])
    with pytest.raises(CommandError, match=r"no customer ordered before the cutoff 2024-02-01 \(the first order is on "
                                           r"2024-03-01\)"):
        run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-02-01")


def test_a_target_whose_outcomes_run_past_the_data_is_refused_with_the_latest_cutoff(tmp_path: Path) -> None:
    rows = [(f"c{i}", f"2024-01-{1 + d:02d}T12:00", "10") for i in range(20) for d in range(0, 28, 1 + i % 5)]
    path = write(tmp_path / "short.csv", ("customer", "ordered_at", "amount"), rows)
    report = json.loads(run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-01-15", "--format", "json"))
    assert report["targets"]["purchase_30d"]["refused"] == (
        "the data ends on 2024-01-28, 14 days after the cutoff; purchase_30d needs 30 days of outcomes "
        "(the data cover 28 days from 2024-01-01: too few for any cutoff)"
    )
    assert "refused" in report["targets"]["churn_90d"] and "refused" in report["targets"]["value_90d"]
    table = run("--transactions", str(path), *COLUMNS, "--cutoff", "2024-01-15")
    assert "purchase_30d: refused: the data ends on 2024-01-28" in table


@pytest.mark.slow
def test_every_method_on_a_simulated_history_in_json_and_table(simulated: Path) -> None:
    report = json.loads(run("--transactions", str(simulated), *COLUMNS, "--cutoff", CUTOFF, "--format", "json"))
    assert report["cutoff"] == CUTOFF and report["data_start"] == "2024-01-01"
    assert report["customers"] == report["targets"]["purchase_30d"]["customers"] > 300
    assert report["orders_before"] + report["orders_after"] == report["orders"]
    assert report["skipped_rows"] == 0
    purchase, churn, value = (report["targets"][t] for t in ("purchase_30d", "churn_90d", "value_90d"))
    assert 0 < purchase["positives"] < purchase["customers"] and 0 < churn["positives"] < churn["customers"]
    assert list(purchase["methods"]) == list(METHODS)
    for target in (purchase, churn):
        mean, recency, bgnbd, model = (target["methods"][m] for m in ("mean", "recency", "bgnbd", "model"))
        assert mean["auc"] == 0.5  # a constant ranks nobody
        assert recency["auc"] > 0.65 and bgnbd["auc"] > 0.65 and model["auc"] > 0.65
        assert bgnbd["brier"] < mean["brier"]
        assert recency["brier"] < mean["brier"]  # recency's mapping, fitted before the cutoff, is informative
        low, high = model["auc_ci"]
        assert low <= model["auc"] <= high
    assert value["methods"]["mean"]["spearman"] is None  # undefined for a constant
    assert value["methods"]["model"]["normalised_gini"] > 0.3 and value["methods"]["bgnbd"]["normalised_gini"] > 0.3
    assert set(report["bgnbd"]["params"]) == {"r", "alpha", "a", "b", "p", "q", "v"}  # Gamma-Gamma fitted too
    assert value["methods"]["model"]["rmse"] < value["methods"]["mean"]["rmse"]
    table = run("--transactions", str(simulated), *COLUMNS, "--cutoff", CUTOFF, "--format", "table")
    assert f"cutoff {CUTOFF}" in table
    line = next(row for row in table.splitlines() if row.strip().startswith("model") and "[" in row)
    auc = report["targets"]["purchase_30d"]["methods"]["model"]["auc"]
    assert f"{auc:.3f} [" in line  # the first model row is purchase_30d: the same numbers as the JSON
    assert "normalised_gini" in table and "spearman" in table and "rmse" in table


@pytest.mark.slow
def test_no_order_from_the_cutoff_on_changes_any_prediction(simulated: Path, tmp_path: Path) -> None:
    """Every row after the cutoff is changed (values x3, times moved, a third of them dropped, new customers
    added): no prediction of any method for any customer may move. (An earlier cutoff than the other tests:
    fewer training windows, a quicker test, the same code.)"""
    cutoff = to_days(datetime(2024, 5, 10, tzinfo=UTC))
    with simulated.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    rng = np.random.default_rng(7)
    changed = []
    for customer, when, amount in rows:
        t = to_days(datetime.fromisoformat(when))
        if t < cutoff:
            changed.append((customer, when, amount))
        elif rng.random() > 1 / 3:
            moved = datetime.fromtimestamp((t + rng.uniform(0, 20)) * 86400, tz=UTC).isoformat()
            changed.append((customer, moved, f"{float(amount) * 3:.2f}"))
    changed += [(f"new{i}", f"2024-06-0{1 + i % 9}T10:00:00+00:00", "99") for i in range(30)]
    other = write(tmp_path / "changed.csv", ("customer", "ordered_at", "amount"), changed)
    args = {"customer_column": "customer", "time_column": "ordered_at", "value_column": "amount"}
    before, after = read_transactions(simulated, **args), read_transactions(other, **args)
    assert before.orders != after.orders
    a, b = predict_at_cutoff(before, cutoff), predict_at_cutoff(after, cutoff)
    fitted = [(t, m) for t, methods in a.predictions.items() for m, p in methods.items() if not isinstance(p, str)]
    assert len(fitted) == 12  # every method for every target
    for target, methods in a.predictions.items():
        ids_a = [before.customer_ids[i] for i in a.rows[target]]
        ids_b = [after.customer_ids[i] for i in b.rows[target]]
        assert ids_a == ids_b
        for name, pred in methods.items():
            other_pred = b.predictions[target][name]
            if isinstance(pred, str):
                assert other_pred == pred
                continue
            assert isinstance(pred, Prediction) and isinstance(other_pred, Prediction), (target, name)
            assert np.array_equal(pred.values, other_pred.values), (target, name)
            assert np.array_equal(pred.ranking, other_pred.ranking), (target, name)
