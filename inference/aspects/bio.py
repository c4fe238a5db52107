"""BIO labels (outside, begin, inside an aspect) between words and character spans.

The tagger labels words (the first word piece of each carries its label); `decode_bio` turns a
sentence's word labels into trimmed term spans, `word_labels` turns gold spans into word labels for
training.
"""

from __future__ import annotations

from collections.abc import Sequence

from .terms import AspectTerm, Span, trim_span

LABELS = ("O", "B-ASP", "I-ASP")
O, B, I = 0, 1, 2  # noqa: E741 - the BIO names are the point


def decode_bio(text: str, words: Sequence[Span], labels: Sequence[int | str]) -> list[AspectTerm]:
    """Word-level BIO labels to trimmed character spans. An I without a B before it starts a term (a
    tagger's near miss is more useful kept than dropped)."""
    spans: list[Span] = []
    current: list[int] | None = None
    for (start, end), label in zip(words, labels, strict=True):
        tag = LABELS[label] if isinstance(label, int) else label
        if tag == "B-ASP" or (tag == "I-ASP" and current is None):
            if current is not None:
                spans.append((current[0], current[1]))
            current = [start, end]
        elif tag == "I-ASP" and current is not None:
            current[1] = max(current[1], end)
        else:
            if current is not None:
                spans.append((current[0], current[1]))
            current = None
    if current is not None:
        spans.append((current[0], current[1]))
    terms = []
    for start, end in spans:
        start, end = trim_span(text, start, end)
        if start < end:
            terms.append(AspectTerm(text[start:end], start, end))
    return terms


def word_labels(words: Sequence[Span], gold: Sequence[Span]) -> list[int]:
    """BIO label per word from gold character spans: a word overlapping a span is inside it, the
    first such word begins it."""
    labels = [O] * len(words)
    for g_start, g_end in sorted(gold):
        first = True
        for index, (start, end) in enumerate(words):
            if start < g_end and end > g_start and labels[index] == O:
                labels[index] = B if first else I
                first = False
    return labels


def word_extents(word_ids: Sequence[int | None], offsets: Sequence[Sequence[int]]) -> dict[int, list[int]]:
    """Character extent [start, end] of each word in one tokenised window, keyed by word index."""
    words: dict[int, list[int]] = {}
    for word, (start, end) in zip(word_ids, offsets, strict=True):
        if word is None or end <= start:
            continue
        extent = words.setdefault(word, [start, end])
        extent[0], extent[1] = min(extent[0], start), max(extent[1], end)
    return words
