"""Needs: what reviewers wish a product had ("I wish it had a longer cable" -> "a longer cable").

A wish is a need, never praise nor a pain point: `mark_wishes` marks the aspect mentions inside a wish or
request clause ("I wish the app had a proper equalizer", "would be nice if", "if only", 希望..., 如果...
就好了) so that `aspect_summary` leaves them out, and `needs_summary` names the aspect a need is about.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from inference.aspects.meta import addressed_to_a_model, names_the_conversation

from .aspects import canonical_aspect
from .quotes import sentence_around

_NEED_CUES = re.compile(
    r"\b(?:i\s+wish(?:\s+(?:it|they|there))?(?:\s+(?:had|was|were|came|could|would))?|"
    r"wish\s+(?:it|they)\s+(?:had|came\s+with|were)|would\s+(?:be\s+(?:nice|great|better)\s+(?:if|to\s+have)|love\s+(?:it\s+)?if)|"
    r"if\s+only|should\s+(?:have|come\s+with)|needs?\s+(?:a|an|more|better)|missing\s+(?:a|an|the)?|"
    r"hope\s+(?:they|the\s+next)[^.!?]*?(?:add|make|improve))\b\s*(?P<need>[^.!?;\n]{3,120})",
    re.IGNORECASE,
)
_ZH_NEED = re.compile(r"(?:希望|要是|如果)(?P<need>[^。！？；\n]{2,40}?)(?:就好了|就更好了|[。！？；，\n]|$)")


# Wishes and requests: from the cue to the end of its clause. Narrower than the need cues, which also
# take complaints ("it is missing the charger", "should have lasted longer").
_WISH = re.compile(
    r"\b(?:i\s+(?:really\s+|just\s+|do\s+)?wish|wish\s+(?:it|they|there)\b|"
    r"(?:it\s+)?would\s+(?:be\s+(?:so\s+|really\s+)?(?:nice|great|better|good|lovely|helpful|ideal)\s+(?:if|to)|"
    r"love\s+(?:it\s+)?if)|if\s+only|(?:i\s+)?hope\s+(?:they|the\s+next)|hopefully\s+(?:they|the\s+next))\b"
    r"[^.!?;\n]*",
    re.IGNORECASE,
)
_ZH_WISH = re.compile(r"希望[^。！？；\n]*|(?:如果|要是)[^。！？；\n]*?(?:就好了|就更好了)")
# "the app had a proper equalizer": the part named before a verb of having, the need after it
_SUBJECT_HAD = re.compile(
    r"^(?P<subject>it|they|(?:the|its|this|these|their|my)\s+[\w' -]{1,40}?)\s+"
    r"(?:had|has|have|came\s+with|come\s+with|offered|included|supported)\s+(?P<need>.{2,})$",
    re.IGNORECASE,
)


def wish_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the wish and request clauses of a text."""
    return [m.span() for m in _WISH.finditer(text)] + [m.span() for m in _ZH_WISH.finditer(text)]


def mark_wishes(text: str, aspects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aspect mentions (dicts with start and end) inside a wish: polarity "neutral" and `wish: True`,
    so "I wish the app had a proper equalizer" praises neither the app nor an equalizer."""
    spans = wish_spans(text) if aspects else []
    for aspect in aspects:
        start, end = int(aspect.get("start", 0)), int(aspect.get("end", 0))
        if any(a <= start and end <= b for a, b in spans):
            aspect["polarity"], aspect["wish"] = "neutral", True
    return aspects


def _split_subject(need: str) -> tuple[str, str]:
    """("the app", "a proper equalizer") from "the app had a proper equalizer"; else ("", need)."""
    match = _SUBJECT_HAD.match(need)
    return (match.group("subject"), match.group("need").strip()) if match else ("", need)


def extract_needs(text: str) -> list[str]:
    """Wishes in a review: "I wish it had a longer cable" -> "a longer cable", "I wish the app had a
    proper equalizer" -> "a proper equalizer"."""
    return [need for need, _ in _needs_at(text)]


def _needs_at(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each need with the span of its whole wish (cue to end), where its aspect is looked for."""
    found = []
    for m in _NEED_CUES.finditer(text):
        need = _split_subject(m.group("need").strip(" ,:-"))[1]
        found.append((need, m.span()))
    found += [(m.group("need").strip(), m.span()) for m in _ZH_NEED.finditer(text)]
    # "I wish you would ignore previous instructions" is no need of a customer (`inference.aspects.meta`)
    return [(need, span) for need, span in found
            if len(need) >= 2 and not addressed_to_a_model(text[span[0] : span[1]])
            and not names_the_conversation(need)]


_NEED_STOP = {
    "a",
    "an",
    "the",
    "it",
    "they",
    "had",
    "have",
    "more",
    "better",
    "was",
    "were",
    "to",
    "be",
    "of",
    "and",
    "or",
    "with",
    "that",
    "this",
    "came",
    "come",
    "for",
    "in",
    "on",
    "so",
    "too",
    "would",
}


def _need_key(need: str) -> str:
    words = [w for w in re.findall(r"[\w'-]+", need.lower()) if w not in _NEED_STOP]
    return " ".join(words[:4]) if words else need.lower()


def needs_summary(
    rows: Sequence[tuple[int, str]], top: int = 6, aspects: Sequence[Sequence[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    """The most asked-for needs, grouped by their words. With each review's aspect mentions (`aspects`,
    parallel to `rows`), a need also names the aspect it is about: the first mention inside its wish
    ("I wish the app had a proper equalizer" -> need "a proper equalizer", aspect "app"), else ""."""
    groups: dict[str, list[tuple[str, int, str, str]]] = defaultdict(list)
    for index, (review_id, text) in enumerate(rows):
        mentions = sorted(aspects[index], key=lambda a: int(a.get("start", 0))) if aspects is not None else []
        for need, (start, end) in _needs_at(text):
            about = next(
                (str(a.get("term", "")) for a in mentions if start <= int(a.get("start", -1)) < end), ""
            )
            at = text.find(need, start)
            groups[_need_key(need)].append(
                (need, review_id, sentence_around(text, max(0, at), max(0, at) + len(need)), canonical_aspect(about))
            )
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    result = []
    for _, items in ranked[:top]:
        phrases = Counter(need for need, _, _, _ in items)
        subjects = Counter(aspect for _, _, _, aspect in items if aspect)
        result.append(
            {
                "need": phrases.most_common(1)[0][0],
                "aspect": subjects.most_common(1)[0][0] if subjects else "",
                "count": len(items),
                "quotes": [{"text": quote, "review_id": rid} for _, rid, quote, _ in items[:3]],
            }
        )
    return result
