"""An aspect mention and its span: what every extractor returns, and the text handling they share.

Extractors read a bounded copy of the text with HTML tags blanked out (`bounded`, `blank_markup`), so
offsets stay those of the caller's text; what they find is re-read from that text (`as_in`) and trimmed
of stray punctuation (`trim_span`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from ..progress import OnBatch

MAX_CHARS = 20_000  # characters read per text; aspects further on in a 50k-character paste are ignored

Span = tuple[int, int]
Example = tuple[str, Sequence[Span]]  # (text, aspect spans as character offsets)

CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"  # kana, CJK ideographs, hangul
CJK = re.compile(f"[{CJK_CHARS}]")
_TAG = re.compile(r"<[^<>]{0,500}>")


@dataclass(frozen=True)
class AspectTerm:
    """One mention: `term == text[start:end]` in the text it was extracted from."""

    term: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AspectMention:
    """A mention with its polarity, and where the polarity came from: "head" (the tagger's polarity
    head read the mention in its sentence) or "clause" (the sentiment classifier read its clause)."""

    term: AspectTerm
    polarity: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        """What review insight stores per aspect."""
        return {**self.term.as_dict(), "polarity": self.polarity, "polarity_source": self.source}


class AspectExtractor(Protocol):
    """What the platform calls: one list of mentions per text, in input order."""

    def extract(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[list[AspectTerm]]: ...


def bounded(text: object) -> str:
    """Bound the work without moving offsets: only the tail beyond MAX_CHARS is cut."""
    return "" if text is None else str(text)[:MAX_CHARS]


def blank_markup(text: str) -> str:
    """What the models read: HTML tags blanked out with as many spaces, so offsets stay those of the text."""
    return _TAG.sub(lambda match: " " * len(match.group()), text) if "<" in text else text


def as_in(text: str, terms: list[AspectTerm]) -> list[AspectTerm]:
    """Terms found in the prepared text, re-read from the caller's text at the same offsets; a term
    never spans markup ("screen</b> flickers" becomes "screen" and "flickers")."""
    found = []
    for term in terms:
        if text[term.start : term.end] == term.term:
            found.append(term)
            continue
        position = term.start
        for match in [*_TAG.finditer(text, term.start, term.end), None]:
            start, end = trim_span(text, position, match.start() if match else term.end)
            if start < end:
                found.append(AspectTerm(text[start:end], start, end))
            position = match.end() if match else term.end
    return found


# Characters a term never starts or ends with (whitespace too), unless they pair up inside the term:
# `"sales" team` and `OS (Vista)` keep their quotes and brackets.
_EDGE = set(".,;:!?\"'()[]{}<>*/\\|-–—~`·…，。！？；：、（）【】《》“”‘’「」")
_PAIRS = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'", "“": "”", "‘": "’", "（": "）", "【": "】", "《": "》"}
_CLOSERS = {closer: opener for opener, closer in _PAIRS.items()}


def trim_span(text: str, start: int, end: int) -> Span:
    """Shrink [start, end) past whitespace and stray punctuation at either edge, and past a bracket or
    quote pair around the whole term ("(battery life)")."""
    while start < end:
        first, last = text[start], text[end - 1]
        if first.isspace() or (first in _EDGE and not (first in _PAIRS and _PAIRS[first] in text[start + 1 : end])):
            start += 1
        elif last.isspace() or (last in _EDGE and not (last in _CLOSERS and _CLOSERS[last] in text[start : end - 1])):
            end -= 1
        elif end - start > 2 and _PAIRS.get(first) == last and _wraps(text, start, end):
            start, end = start + 1, end - 1
        else:
            break
    return start, end


def _wraps(text: str, start: int, end: int) -> bool:
    """Whether the bracket at `start` closes at `end - 1` (not "(a) and (b)")."""
    opener, closer = text[start], text[end - 1]
    if opener == closer:  # quotes: wrapping when no other quote of the kind sits inside
        return opener not in text[start + 1 : end - 1]
    depth = 0
    for index in range(start, end):
        depth += (text[index] == opener) - (text[index] == closer)
        if depth == 0:
            return index == end - 1
    return False
