"""Aspect polarity: from the tagger's polarity head when it has one, else the sentiment of the clause
around each term, never that of the whole review.

"great screen but the battery dies fast" is positive about the screen and negative about the battery:
clauses are cut at sentence ends, semicolons and before contrast markers ("but", "however", 但是), and
the caller's sentiment classifier reads each term's clause. That is the fallback: a clause without an
opinion word ("the laces stay tied for the whole run") or with a negation the classifier misses ("nowhere
near the advertised hours") is misread, which a head trained on labelled mentions can learn
(`polarity_head`). `mentions_with_polarity` is the one entry point serving uses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from ..progress import OnBatch
from .terms import CJK_CHARS, AspectExtractor, AspectMention, AspectTerm, Span

CLAUSE = "clause"  # AspectMention.source of a polarity read from the term's clause

Classify = Callable[[list[str]], list[str]]  # sentiment labels for texts, in order


class PolarAspectExtractor(AspectExtractor, Protocol):
    """An extractor that can say each mention's polarity itself (the tagger, when it has a head)."""

    def extract_with_polarity(
        self, texts: Sequence[str], fallback: Classify | None = None, on_batch: OnBatch | None = None
    ) -> list[list[AspectMention]]: ...

_BOUNDARY = re.compile(r"(?<=[.!?])\s+|[;；。！？\n]+|，")
_WORD = re.compile(r"\w")
_TOKEN = re.compile(f"[{CJK_CHARS}]|[^\\W{CJK_CHARS}]+")  # a CJK character counts as a word
_CONTRAST = re.compile(r"\b(?:but|however|although|though|whereas|except|nevertheless)\b|但是|不过|可是|然而", re.I)


def _clauses(text: str) -> list[Span]:
    """Character spans of the clauses of `text`: cut at sentence ends, semicolons, Chinese commas, and
    before contrast markers (the marker opens the next clause)."""
    cuts = {0, len(text)}
    for match in _BOUNDARY.finditer(text):
        cuts.update((match.start(), match.end()))
    for match in _CONTRAST.finditer(text):
        cuts.add(match.start())
    points = sorted(cuts)
    return [(a, b) for a, b in itertools.pairwise(points) if _WORD.search(text, a, b)]


def aspect_contexts(text: str, terms: Sequence[AspectTerm]) -> list[str]:
    """The clause around each term, for the sentiment classifier: in "great screen but the battery
    dies", "great screen" for the screen and "but the battery dies" for the battery. A clause that is
    nothing but the term ("Battery life; awful.") takes the next clause along."""
    clauses = _clauses(text)
    contexts = []
    for term in terms:
        inside = [i for i, (a, b) in enumerate(clauses) if a < term.end and b > term.start]
        if not inside:
            contexts.append(term.term)
            continue
        first, last = inside[0], inside[-1]
        start, end = clauses[first][0], clauses[last][1]
        others = len(_TOKEN.findall(text[start:end])) - len(_TOKEN.findall(term.term))
        if others < 1 and last + 1 < len(clauses):
            end = clauses[last + 1][1]
        contexts.append(text[start:end].strip(" \t\n,;，；"))
    return contexts


def aspect_polarities(text: str, terms: Sequence[AspectTerm], classify: Callable[[list[str]], list[str]]) -> list[str]:
    """One polarity label per term, by `classify` (the sentiment model) on the term's clause."""
    if not terms:
        return []
    labels = list(classify(aspect_contexts(text, terms)))
    if len(labels) != len(terms):
        raise RuntimeError(f"{len(terms)} aspect contexts gave {len(labels)} labels")
    return labels


def batch_aspect_polarities(
    texts: Sequence[str], terms_per_text: Sequence[Sequence[AspectTerm]], classify: Callable[[list[str]], list[str]]
) -> list[list[str]]:
    """`aspect_polarities` for many texts with one `classify` call, so the classifier batches every
    context of a chunk of reviews together instead of running once per review."""
    contexts = [aspect_contexts(text, terms) for text, terms in zip(texts, terms_per_text, strict=True)]
    flat = [context for group in contexts for context in group]
    labels = list(classify(flat)) if flat else []
    if len(labels) != len(flat):
        raise RuntimeError(f"{len(flat)} aspect contexts gave {len(labels)} labels")
    result, position = [], 0
    for group in contexts:
        result.append(labels[position : position + len(group)])
        position += len(group)
    return result


def clause_mentions(
    texts: Sequence[str], terms_per_text: Sequence[Sequence[AspectTerm]], classify: Classify
) -> list[list[AspectMention]]:
    """Mentions with the polarity of their clause (`batch_aspect_polarities`)."""
    labels = batch_aspect_polarities(texts, terms_per_text, classify)
    return [
        [AspectMention(term, label, CLAUSE) for term, label in zip(terms, group, strict=True)]
        for terms, group in zip(terms_per_text, labels, strict=True)
    ]


def mentions_with_polarity(
    extractor: AspectExtractor, texts: Sequence[str], classify: Classify
) -> list[list[AspectMention]]:
    """Each text's aspect mentions with their polarity: the extractor's own (a tagger with a polarity
    head, in the same pass as its terms) when it can, else the clause method with `classify`."""
    reader = getattr(extractor, "extract_with_polarity", None)  # a `PolarAspectExtractor`
    if reader is not None:
        return list(reader(texts, fallback=classify))
    return clause_mentions(texts, extractor.extract(texts), classify)
