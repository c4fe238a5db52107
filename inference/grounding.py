"""Text helpers for keeping generated text to its sources, shared by the product summaries
(`catalog.summaries`), the campaign prompts (`campaigns.prompts`) and the copy guardrails
(`campaigns.guardrails`), so the three agree on what a label, a quote and a number are.

Pure text: no Django, no model, nothing of ours outside `inference`.
- Labels and quotes: pieces of shop or customer text made single-line and fence-free (no angle brackets,
  no double quotes), so a prompt can put them inside a data block they cannot close.
- Numbers: digits normalised ("1,200" and "1200" are one number, "4.20" is "4.2") plus number words
  ("three" is "3"), so "a number in the output that is absent from the sources" is one set difference.
- Allowed text: the sources a generated text may restate, joined into one text to search.
"""

from __future__ import annotations

import re
from typing import Any

from .batching import clean_text

MAX_LABEL_CHARS = 80
MAX_QUOTE_CHARS = 200

# Angle brackets and what reads as one (full-width, typographic, HTML entities): a label can never write a
# fence's delimiter, "</data>" included.
_FENCE_LOOKALIKES = re.compile(
    r"[<>\uff1c\uff1e\u2039\u203a\u2329\u232a\u3008\u3009\u27e8\u27e9\ufe64\ufe65]|&(?:lt|gt|#0*6[02]|#x0*3[ce]);?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]+")  # hyphens and apostrophes split words: "high-quality" names "quality"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")
NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "fifty": "50", "dozen": "12", "dozens": "12",
    "hundred": "100", "hundreds": "100", "thousand": "1000", "thousands": "1000",
}


def word_set(text: str) -> frozenset[str]:
    """A frozen set of the whitespace-separated words of `text` (for word lists written as one string)."""
    return frozenset(text.split())


def words(text: str) -> list[str]:
    """The lower-case words of `text`, letters only."""
    return _WORD.findall(text.lower())


# --- Labels and quotes --------------------------------------------------------------------------------------


def label(value: object, limit: int = MAX_LABEL_CHARS) -> str:
    """A short, single-line, fence-free piece of text: aspect names, titles, categories and needs come from
    reviews or from the shop, so they are data too. Cut at a word boundary with an ellipsis past `limit`."""
    text = _FENCE_LOOKALIKES.sub(" ", clean_text(value, max_chars=2000)).replace('"', "'")
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return text


def quote_text(quote: object, limit: int = MAX_QUOTE_CHARS) -> str:
    """A review quote as a label: quotes come as {"text": ..., "review_id": ...} from the insight
    aggregation, or as plain strings."""
    return label(quote.get("text", "") if isinstance(quote, dict) else quote, limit)


def labelled_rows(items: object, key: str, limit: int) -> list[dict[str, Any]]:
    """The first `limit` well-formed entries (dicts with a non-empty label under `key`) of an insight list
    (praised aspects, pain points, topics, needs); junk from an older aggregation is skipped."""
    if not isinstance(items, list):
        return []
    return [row for row in items if isinstance(row, dict) and label(row.get(key))][:limit]


# --- Numbers ------------------------------------------------------------------------------------------------


def numbers(text: str) -> set[str]:
    """The numbers written in digits, normalised: thousands separators dropped, a decimal comma read as a
    point, trailing zeros gone ("1,200" -> "1200", "4,5" -> "4.5", "4.20" -> "4.2")."""
    found = set()
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "") if _THOUSANDS.fullmatch(raw) else raw.replace(",", ".")
        try:
            found.add(f"{float(value):g}")
        except ValueError:
            found.add(raw)
    return found


def number_values(text: str) -> set[str]:
    """The numbers of `text` in digits (see `numbers`) and as words ("three" -> "3")."""
    return numbers(text) | {NUMBER_WORDS[word] for word in words(text) if word in NUMBER_WORDS}


def invented_numbers(text: str, allowed: set[str]) -> list[str]:
    """The numbers of `text` (digits or words) that are not in `allowed` (a `number_values` set), sorted.
    Presence is checked, not meaning: "4 out of 5" is grounded by any 4 and 5 in the sources."""
    return sorted(number_values(text) - allowed)


# --- Allowed text -------------------------------------------------------------------------------------------


def allowed_text(*parts: object) -> str:
    """The sources a generated text may restate (brief, offer, facts, required text, ...), one per line;
    empty parts are left out."""
    return "\n".join(str(part) for part in parts if part)
