"""Hypothesis strategies for hostile input, shared by the property tests of the bulk endpoints and the
import: wrong types, huge and overlong strings, NUL bytes, lone surrogates, control characters,
formula-injection cells, implausible dates and numbers."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def bounded(examples: int) -> settings:
    """Deterministic (derandomized, no example database) and bounded runs, so the suite stays quick."""
    return settings(
        max_examples=examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Cells a spreadsheet would evaluate if a CSV export wrote them as they are (OWASP "CSV injection").
FORMULAS = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)",
            "\t=1+1", "\r=1+1"]
ODD_TEXT = [
    "", " ", "\x00", "a\x00b", "x" * 70_000, "é" * 400, "<script>alert(1)</script>", "' OR 1=1 --",
    "9999-12-31T00:00:00Z", "0001-01-01", "2026-01-01T00:00:00+23:30", "NaN", "Infinity", "1e309", "-0",
    "-1", "12.345", "99999999999999999999", "true", "null", "\u202eevil", "\ufeffbom", "a\r\nb", "\x1b[31m",
]


def hostile_text(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Short arbitrary text, or one of the known troublemakers; lone surrogates only where the carrier can
    hold them (JSON escapes, not a UTF-8 file)."""
    parts: list[st.SearchStrategy[str]] = [st.text(max_size=20), st.sampled_from(FORMULAS + ODD_TEXT)]
    if surrogates:
        parts.append(st.sampled_from(["\ud800", "a\udfffb"]))
    return st.one_of(parts)


def hostile_json(*, surrogates: bool = True) -> st.SearchStrategy[Any]:
    """Any JSON value a client could send in place of a field: text, numbers out of range, booleans,
    null, lists and objects."""
    scalars = st.one_of(
        hostile_text(surrogates=surrogates), st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
    )
    return st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=3))


def hostile_rows(fields: dict[str, st.SearchStrategy[Any]], *, surrogates: bool = True) -> st.SearchStrategy[
    list[dict[str, Any]]
]:
    """Rows whose fields are each either a plausible value (`fields`) or a hostile one, with some fields
    missing and some unknown ones added."""
    def value(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(plausible, hostile_json(surrogates=surrogates))

    row = st.fixed_dictionaries(
        {}, optional={name: value(strategy) for name, strategy in fields.items()} | {"unknown": hostile_json()}
    )
    return st.lists(row, min_size=1, max_size=6)
