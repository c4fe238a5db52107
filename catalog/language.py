"""Language of a review by its script: cheap, offline and right for the cases that matter here
(Chinese, Japanese, Korean, Cyrillic, Arabic versus Latin-script text, which we take as English unless
the source said otherwise)."""

from __future__ import annotations

import re

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana before Han: Japanese mixes both
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
)
_CJK = {"zh", "ja", "ko"}
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def detect_language(text: str, declared: str = "") -> str:
    """BCP 47 primary tag: the script with the most letters wins; Latin script keeps `declared` or en."""
    letters = _LETTER.findall(text or "")
    if not letters:
        return declared or ""
    joined = "".join(letters)
    best, best_weight = "", 0.0
    for code, pattern in _SCRIPTS:
        # one CJK character carries about as much as a short word, so it weighs as three letters
        weight = len(pattern.findall(joined)) * (3 if code in _CJK else 1)
        if weight > best_weight:
            best, best_weight = code, weight
    if best and best_weight >= max(2, 0.3 * (len(letters) + best_weight)):
        return best
    return (declared or "en").split("-")[0].lower()
