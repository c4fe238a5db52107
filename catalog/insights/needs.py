"""Needs: what reviewers wish a product had ("I wish it had a longer cable" -> "a longer cable")."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from .quotes import sentence_around

_NEED_CUES = re.compile(
    r"\b(?:i\s+wish(?:\s+(?:it|they|there))?(?:\s+(?:had|was|were|came|could|would))?|"
    r"wish\s+(?:it|they)\s+(?:had|came\s+with|were)|would\s+(?:be\s+(?:nice|great|better)\s+(?:if|to\s+have)|love\s+(?:it\s+)?if)|"
    r"if\s+only|should\s+(?:have|come\s+with)|needs?\s+(?:a|an|more|better)|missing\s+(?:a|an|the)?|"
    r"hope\s+(?:they|the\s+next)[^.!?]*?(?:add|make|improve))\b\s*(?P<need>[^.!?;\n]{3,120})",
    re.IGNORECASE,
)
_ZH_NEED = re.compile(r"(?:希望|要是|如果)(?P<need>[^。！？；\n]{2,40}?)(?:就好了|就更好了|[。！？；，\n]|$)")


def extract_needs(text: str) -> list[str]:
    """Wishes in a review: "I wish it had a longer cable" -> "a longer cable"."""
    needs = [m.group("need").strip(" ,:-") for m in _NEED_CUES.finditer(text)]
    needs += [m.group("need").strip() for m in _ZH_NEED.finditer(text)]
    return [n for n in needs if len(n) >= 2]


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


def needs_summary(rows: Sequence[tuple[int, str]], top: int = 6) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for review_id, text in rows:
        for need in extract_needs(text):
            groups[_need_key(need)].append(
                (need, review_id, sentence_around(text, max(0, text.find(need)), max(0, text.find(need)) + len(need)))
            )
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    result = []
    for _, items in ranked[:top]:
        phrases = Counter(need for need, _, _ in items)
        result.append(
            {
                "need": phrases.most_common(1)[0][0],
                "count": len(items),
                "quotes": [{"text": quote, "review_id": rid} for _, rid, quote in items[:3]],
            }
        )
    return result
