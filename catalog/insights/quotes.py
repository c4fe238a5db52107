"""Quotes: the sentence around a mention, shown beside an aspect or a need as its evidence."""

from __future__ import annotations


def sentence_around(text: str, start: int, end: int, limit: int = 220) -> str:
    """The sentence holding [start, end), trimmed to `limit` characters around the term."""
    left = max(text.rfind(mark, 0, start) for mark in ".!?。！？\n")
    right_candidates = [i for i in (text.find(mark, end) for mark in ".!?。！？\n") if i != -1]
    right = min(right_candidates) + 1 if right_candidates else len(text)
    sentence = text[left + 1 : right].strip()
    if len(sentence) > limit:
        middle = start - (left + 1)
        lo = max(0, middle - limit // 2)
        sentence = ("…" if lo else "") + sentence[lo : lo + limit].strip() + "…"
    return sentence
