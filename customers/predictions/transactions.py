"""A plain transactions file (one row per order or per order line) read into a `History`.

For `manage.py evaluate_predictions`: a shop's export, or a public CLV data set, is a CSV (or .csv.gz;
the delimiter is sniffed among `,` `;` tab and `|`) with a customer, a time and an amount per row, and
optionally a quantity (value = amount x quantity). It is streamed row by row; nothing is written to the
database.

What a row means, decided once:
- rows of one customer at the same timestamp are one order (the lines of an invoice share its time); its
  value is the sum of its lines, so a negative line (a return, a discount) reduces the order it is in;
- an order whose total is negative (a refund or cancellation on its own) is not a purchase: it is skipped
  and counted (`negative_orders`); an order totalling exactly zero (a free replacement) is a purchase of
  value 0;
- a row with an empty customer (a guest checkout) is skipped and counted (`no_customer`);
- an unreadable time or a non-numeric amount or quantity stops the reading with the line number, the
  column and the value, rather than silently dropping rows that would bias every metric.

The `History` holds orders (customer, time, value) and, as activity, one purchase event per customer and
order day; no views, carts or products. It covers all rows, after any cutoff too, so the outcomes after a
cutoff can be read from it; `history_before` cuts it for anything that fits.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..models import EventType
from .history import DAY, TYPE_CODES, History

SNIFF_BYTES = 64 * 1024  # enough lines to tell the delimiter of any sane export
DELIMITERS = ",;\t|"
ISO_HINT = "ISO 8601 (YYYY-MM-DD, optionally with THH:MM[:SS] and an offset)"


class TransactionsError(ValueError):
    """The file cannot be read as transactions; the message names the line, the column and the value."""


@dataclass
class Transactions:
    """The orders of a transactions file as a `History`, with what was read and skipped."""

    history: History
    customer_ids: list[str]  # dense index -> the file's customer id
    rows: int  # data rows read (the header excluded)
    skipped: dict[str, int] = field(default_factory=dict)  # no_customer (rows), negative_orders (+ their rows)

    @property
    def skipped_rows(self) -> int:
        return self.skipped.get("no_customer", 0) + self.skipped.get("negative_order_rows", 0)

    @property
    def orders(self) -> int:
        return len(self.history.o_t)

    @property
    def first_order(self) -> float:
        return float(self.history.o_t.min())

    @property
    def last_order(self) -> float:
        return float(self.history.o_t.max())


def _open_text(path: Path) -> io.TextIOBase:
    try:
        raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")  # noqa: SIM115 (the rows iterator closes it)
    except FileNotFoundError:
        raise TransactionsError(f"cannot open {path}: no such file") from None
    except OSError as exc:
        raise TransactionsError(f"cannot open {path}: {exc.strerror or exc}") from None
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")


def _sniff(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the data rows, each with the line it starts on (the header is line 1)."""
    handle = _open_text(path)
    try:
        sample = handle.read(SNIFF_BYTES)
        if sample and not sample.endswith("\n"):
            sample += handle.readline()  # whole lines only: the reader takes each piece as a line
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        handle.close()
        raise TransactionsError(f"cannot read {path.name} as UTF-8 text: {exc}") from None
    rest = handle

    def lines() -> Iterator[str]:
        yield from io.StringIO(sample, newline="")
        yield from rest

    reader = csv.reader(lines(), delimiter=_sniff(sample))
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as exc:
        raise TransactionsError(f"line {reader.line_num}: {exc}") from None
    if header is None:
        handle.close()
        raise TransactionsError(f"{path.name} is empty: it needs a header line naming its columns")

    def rows() -> Iterator[tuple[int, list[str]]]:
        last = reader.line_num
        try:
            for values in reader:
                line, last = last + 1, reader.line_num
                if values:
                    yield line, values
        except csv.Error as exc:
            raise TransactionsError(f"line {last + 1}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise TransactionsError(f"after line {last}: not valid UTF-8 ({exc.reason})") from None
        except (OSError, EOFError) as exc:  # a truncated or fake .gz
            raise TransactionsError(f"cannot read {path.name} after line {last}: {exc}") from None
        finally:
            handle.close()

    return [name.strip() for name in header], rows()


def parse_time(text: str, date_format: str | None) -> float:
    """Days since the Unix epoch; a time without an offset is UTC."""
    value = text.strip()
    moment = datetime.strptime(value, date_format) if date_format else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / DAY


def _number(text: str) -> float:
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_transactions(
    path: str | Path, *, customer_column: str, time_column: str, value_column: str,
    quantity_column: str | None = None, date_format: str | None = None,
) -> Transactions:
    """Stream the file into orders (see the module docstring for what a row means)."""
    path = Path(path)
    columns, rows = _rows(path)
    wanted = {"customer": customer_column, "time": time_column, "value": value_column}
    if quantity_column:
        wanted["quantity"] = quantity_column
    missing = [f"{name!r} (--{role}-column)" for role, name in wanted.items() if name not in columns]
    if missing:
        raise TransactionsError(
            f"{path.name} has no column {', '.join(missing)}; its columns are: {', '.join(map(repr, columns))}"
        )
    ci, ti, vi = (columns.index(wanted[k]) for k in ("customer", "time", "value"))
    qi = columns.index(quantity_column) if quantity_column else None
    index: dict[str, int] = {}
    cust: list[int] = []
    times: list[float] = []
    values: list[float] = []
    count, no_customer = 0, 0
    for line, row in rows:
        count += 1
        if len(row) < len(columns):
            raise TransactionsError(f"line {line}: has {len(row)} values but the header has {len(columns)} columns")
        customer = row[ci].strip()
        if not customer:
            no_customer += 1
            continue
        try:
            t = parse_time(row[ti], date_format)
        except ValueError:
            tried = f"--date-format {date_format!r}" if date_format else f"{ISO_HINT}; give --date-format"
            raise TransactionsError(
                f"line {line}: column {time_column!r} value {row[ti]!r} is not a date in {tried}"
            ) from None
        try:
            amount = _number(row[vi])
        except ValueError:
            raise TransactionsError(f"line {line}: column {value_column!r} value {row[vi]!r} is not a number") from None
        if qi is not None:
            try:
                amount *= _number(row[qi])
            except ValueError:
                raise TransactionsError(
                    f"line {line}: column {quantity_column!r} value {row[qi]!r} is not a number"
                ) from None
        cust.append(index.setdefault(customer, len(index)))
        times.append(t)
        values.append(amount)
    if count == 0:
        raise TransactionsError(f"{path.name} has a header but no rows")
    history, skipped = _orders_history(np.asarray(cust, np.int64), np.asarray(times, np.float64),
                                       np.asarray(values, np.float64), len(index))
    return Transactions(history, list(index), count, {"no_customer": no_customer, **skipped})


def _orders_history(cust: np.ndarray, t: np.ndarray, value: np.ndarray, n: int) -> tuple[History, dict[str, int]]:
    """Lines -> orders (one per customer and timestamp, values summed) -> a `History`; and how many orders
    (and their rows) had a negative total and were dropped."""
    if len(cust):
        order = np.lexsort((t, cust))
        cust, t, value = cust[order], t[order], value[order]
        start = np.flatnonzero(np.r_[True, (cust[1:] != cust[:-1]) | (t[1:] != t[:-1])])
        o_cust, o_t, o_value = cust[start], t[start], np.add.reduceat(value, start)
        lines = np.diff(np.r_[start, len(cust)])
    else:
        o_cust, o_t, o_value, lines = cust, t, value, np.empty(0, dtype=np.int64)
    keep = o_value >= 0
    skipped = {"negative_orders": int((~keep).sum()), "negative_order_rows": int(lines[~keep].sum())}
    return orders_to_history(o_cust[keep], o_t[keep], o_value[keep], n), skipped


def orders_to_history(o_cust: np.ndarray, o_t: np.ndarray, o_value: np.ndarray, n: int,
                      now: float | None = None) -> History:
    """A `History` of orders only (sorted by customer and time); activity is one purchase row per customer and
    order day. `now` defaults to the midnight after the last order."""
    order = np.lexsort((o_t, o_cust))
    o_cust, o_t, o_value = o_cust[order].astype(np.int64), o_t[order].astype(np.float64), o_value[order]
    day = np.floor(o_t)
    last_of_day = np.flatnonzero(np.r_[(o_cust[1:] != o_cust[:-1]) | (day[1:] != day[:-1]), True]) \
        if len(o_t) else np.empty(0, dtype=np.int64)
    first_of_day = np.r_[0, last_of_day[:-1] + 1] if len(last_of_day) else last_of_day
    empty_i, empty_f = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    if now is None:
        now = float(np.floor(o_t.max()) + 1) if len(o_t) else 0.0
    return History(
        customer_pks=np.arange(n, dtype=np.int64),
        o_cust=o_cust, o_t=o_t, o_value=o_value.astype(np.float64),
        a_cust=o_cust[last_of_day], a_type=np.full(len(last_of_day), TYPE_CODES[EventType.PURCHASE.value]),
        a_t=o_t[last_of_day], a_count=(last_of_day - first_of_day + 1).astype(np.float64),
        p_cust=empty_i, p_t=empty_f, g_cust=empty_i, g_t=empty_f,
        now=now,
    )


def history_before(h: History, cutoff: float) -> History:
    """The part of an orders-only `History` strictly before `cutoff`, ending at it: what every fit sees."""
    m = h.o_t < cutoff
    return orders_to_history(h.o_cust[m], h.o_t[m], h.o_value[m], h.n, now=cutoff)
