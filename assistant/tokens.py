"""Words for full-text search. The chunks' tsvector is PostgreSQL's `english` configuration, which splits
words at spaces and punctuation: right for English and other Latin-script text, but a Chinese sentence has
no spaces, so the whole clause would become one "word" that no query ever matches. So Chinese (Han) runs are
cut into words with rjieba (as inference/aspects/chinese.py does) and joined by spaces before PostgreSQL
reads them; everything else is left as it is. Queries go through the same cut, so both sides agree."""

from __future__ import annotations

import re

from inference.aspects.chinese import STOP_WORDS, segmenter

HAN_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
# A query term: a decimal number ("3.5", as PostgreSQL's parser keeps it) or a run of letters and digits.
_TERM = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")


def _cut(run: str) -> str:
    return " ".join(word for word in segmenter().cut(run) if word.strip())


def search_text(text: str, language: str = "") -> str:
    """`text` with every Han run cut into space-separated words ("电池续航很好" -> "电池 续航 很 好"); other
    text unchanged. `language` is a hint only: Han characters are segmented whatever the row says, since a
    product titled in English may describe itself in Chinese."""
    if not text or not HAN_RUN.search(text):
        return text or ""

    def replace(match: re.Match[str]) -> str:
        words = _cut(match.group())
        before = text[match.start() - 1] if match.start() > 0 else " "
        after = text[match.end()] if match.end() < len(text) else " "
        return ("" if before.isspace() else " ") + words + ("" if after.isspace() else " ")

    return HAN_RUN.sub(replace, text)


def query_terms(text: str, language: str = "") -> list[str]:
    """The words of a query, lower-cased, punctuation stripped, duplicates out, in order of appearance: the
    operands of an OR tsquery. Chinese is segmented as in `search_text` and its particles (的, 了, 吗...)
    left out, since the `english` configuration would keep them and match nearly every Chinese passage.
    English stop words stay: PostgreSQL drops them itself. Each term is letters and digits only (or a
    decimal number), so it is safe as a quoted tsquery operand."""
    seen: dict[str, None] = {}
    for term in _TERM.findall(search_text(text, language).lower()):
        if HAN_RUN.fullmatch(term) and term in STOP_WORDS:
            continue
        seen.setdefault(term, None)
    return list(seen)
