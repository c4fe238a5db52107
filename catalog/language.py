"""Language of a text, offline and cheap: by its script first (Chinese, Japanese, Korean, Cyrillic, Arabic
versus Latin-script text, which we take as English unless the source said otherwise), then, for Latin
script, by its function words ("the", "und", "les" ...). Pure text, no Django: review analysis and the copy
guardrails both use it."""

from __future__ import annotations

import re

from inference.grounding import word_set

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


# Function words that tell Latin-script languages apart (short lists: frequent, rarely shared).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": word_set("the and you your with for this that is are of to it our on in be have not"),
    "de": word_set("der die das und ist nicht mit für sie ein eine ich auf den dem zu ihr ihre"),
    "fr": word_set("le la les et est une un des pour avec vous votre pas du au ce qui sur"),
    "es": word_set("el la los las y es una un para con su sus por que del al tu usted"),
    "it": word_set("il lo la gli le e è una un per con che del della di non sono tuo"),
    "nl": word_set("de het een en is van met voor je jouw niet op zijn dat die"),
    "pt": word_set("o os a as e é um uma para com que do da não seu sua você"),
}
MIN_WORDS_FOR_LANGUAGE = 6
# Languages written in Latin script: the ones with function words, and others the script alone cannot tell.
LATIN_SCRIPT = frozenset(FUNCTION_WORDS) | {"pl", "sv", "da", "no", "fi", "cs", "ro", "hu", "tr", "id", "vi"}


def guess_latin_language(text: str) -> tuple[str, dict[str, int]]:
    """The language whose function words the text uses most ('' when too short or no hits), and the hits."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < MIN_WORDS_FOR_LANGUAGE:
        return "", {}
    hits = {code: sum(1 for w in words if w in vocab) for code, vocab in FUNCTION_WORDS.items()}
    best = max(hits, key=lambda code: hits[code])
    return (best if hits[best] >= 2 else ""), hits
