"""The API's JSON parser, with a bound on nesting, and `loads_strict`, the JSON reading that the API and
the JSON Lines import share.

Python's json module recurses once per level, so a body nested 1,000 deep raised `RecursionError` and every
JSON endpoint answered 500. No payload of ours nests deeper than a few levels (a bulk list of rows whose
attributes hold a list or an object), so anything deeper than MAX_DEPTH is refused as a 400 that says why.

JSON lets an object repeat a key (parsers disagree on which value wins, so two systems may read one row two
ways) and lets a string hold a lone surrogate (`"\\ud800"`, no character at all: PostgreSQL cannot store it
and the write failed with a 500); both are refused with a reason, as are NaN and Infinity.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"duplicate key {key!r} in an object")
        found[key] = value
    return found


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_strings(value: Any) -> None:
    """Refuses lone surrogates in any string, key or value (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff), which is no character")
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads_strict(text: str) -> Any:
    """`json.loads`, refusing (ValueError, saying why) a repeated key in an object, NaN or Infinity, a lone
    surrogate in a string, and nesting deeper than MAX_DEPTH."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    if depth_of(value) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    _check_strings(value)
    return value


def depth_of(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """`JSONParser` reading through `loads_strict`: a 400 that says why for a body nested deeper than
    MAX_DEPTH, a repeated key, a lone surrogate, NaN or Infinity (never a recursion error or a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads_strict(codecs.getreader(encoding)(stream).read())
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
