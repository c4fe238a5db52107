"""Detectors of text that no reader should get, whatever the language: repeated sentences and runs of
words, stray or invisible characters, unbalanced brackets and quotes, and a reading grade. The campaign
guardrails (`campaigns.guardrails`) and the product summaries (`catalog.summaries`) both use them.

Pure text: no Django, no model, nothing of ours outside `inference`. Each detector returns what it found
(the repeated run, the character's code point and name, the bracket left open) so a reviewer can see why
a text was flagged; an empty list means nothing was found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MIN_SENTENCE_WORDS = 3  # "Thank you." twice is a sign-off, not a repeated sentence
MIN_GRADE_WORDS = 12  # below this a reading grade says nothing
REPEATED_WORD = 3  # the same word this many times in a row ("very very very")
CLOSE_WINDOW = 6  # ... or this many times within so many words ("gentle, gentle, and gentle")

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# a sentence ends at . ! ? … followed by a space or the end, or at a line break
_SENTENCE_END = re.compile(r"(?<=[.!?…][\"'”’)\]])\s+|(?<=[.!?…])\s+|\n+")
_TOKEN = re.compile(r"\{[A-Za-z_]\w*\}")  # personalisation tokens are filled at send time


def tokens(text: str) -> list[str]:
    """The lower-case words of `text` in any script, apostrophes kept inside ("it's"), digits included;
    personalisation tokens ({first_name}) are not words."""
    return [word.replace("’", "'") for word in _WORD.findall(_TOKEN.sub(" ", text).lower())]


def sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped; a line break ends one too (subjects and list items carry no stop)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


# --- Repetition ------------------------------------------------------------------------------------------


def repeated_sentences(parts: Sequence[str]) -> list[str]:
    """Sentences of MIN_SENTENCE_WORDS words or more that occur twice, within a part or across parts
    (compared by their words, any case and punctuation), each once in order of first occurrence."""
    seen: dict[tuple[str, ...], str] = {}
    found: dict[tuple[str, ...], str] = {}
    for part in parts:
        for sentence in sentences(part):
            key = tuple(tokens(sentence))
            if len(key) < MIN_SENTENCE_WORDS:
                continue
            if key in seen:
                found.setdefault(key, seen[key])
            else:
                seen[key] = sentence
    return list(found.values())


def repeated_runs(parts: Sequence[str], n: int) -> list[str]:
    """Runs of `n` or more words that occur twice, within a part or across parts (a run never spans two
    parts), as lower-case words, longest first; any word REPEATED_WORD or more times in a row; and a word of
    four letters or more REPEATED_WORD times within CLOSE_WINDOW words.
    A run inside a longer reported run is not reported again."""
    words_of = [tokens(part) for part in parts]
    first: dict[tuple[str, ...], tuple[int, int]] = {}
    pairs: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for p, words in enumerate(words_of):
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            if gram in first:
                pairs.append((first[gram], (p, i)))
            else:
                first[gram] = (p, i)
    runs: list[str] = []
    covered: set[tuple[int, int]] = set()  # (part, index) of second occurrences already inside a run
    for (p1, i1), (p2, i2) in pairs:
        if (p2, i2) in covered:
            continue
        a, b = words_of[p1], words_of[p2]
        length = n
        while i1 + length < len(a) and i2 + length < len(b) and a[i1 + length] == b[i2 + length]:
            if p1 == p2 and i1 + length >= i2:  # the first occurrence may not run into the second
                break
            length += 1
        covered.update((p2, i2 + k) for k in range(length - n + 1))
        runs.append(" ".join(b[i2 : i2 + length]))
    for words in words_of:
        for i in range(len(words) - REPEATED_WORD + 1):
            window = words[i : i + REPEATED_WORD]
            if len(set(window)) == 1 and (i == 0 or words[i - 1] != window[0]):
                runs.append(" ".join(window))
    for words in words_of:  # a word said three times in a few words, commas between ("gentle, gentle, and gentle")
        for i, word in enumerate(words):
            window = words[i : i + CLOSE_WINDOW]
            earlier = words[max(0, i - CLOSE_WINDOW + 1) : i]
            in_a_row = window[:REPEATED_WORD] == [word] * REPEATED_WORD  # reported above
            if len(word) >= 4 and window.count(word) >= REPEATED_WORD and word not in earlier and not in_a_row:
                runs.append(" … ".join([word] * REPEATED_WORD))
    unique = sorted(dict.fromkeys(runs), key=lambda run: -len(run.split()))
    return [run for k, run in enumerate(unique) if not any(f" {run} " in f" {longer} " for longer in unique[:k])]


# --- Characters --------------------------------------------------------------------------------------------

_ALLOWED_CONTROLS = {"\n", "\t", "\r"}
_ALLOWED_SPACES = {" ", "\u00a0", "\u202f"}  # space, no-break space, narrow no-break space (French)
_ZERO_WIDTH_JOINER, _VARIATION_SELECTOR = "\u200d", "\ufe0f"
# blocks that are glyph soup in marketing copy: box drawing, block elements, Braille (U+2800 looks blank)
_STRAY_BLOCKS = ((0x2500, 0x259F), (0x2800, 0x28FF))
_EMOJI_BLOCKS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x2190, 0x21FF))


def _name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"


def _in(char: str, blocks: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= ord(char) <= high for low, high in blocks)


def _is_emoji(char: str) -> bool:
    return _in(char, _EMOJI_BLOCKS) or char == _VARIATION_SELECTOR


def _stray(text: str, index: int, latin_only: bool) -> bool:
    char = text[index]
    category = unicodedata.category(char)
    if char in _ALLOWED_CONTROLS or char in _ALLOWED_SPACES:
        return False
    if char == _ZERO_WIDTH_JOINER:  # joins emoji into one (a family, a profession); anywhere else invisible
        return not (0 < index < len(text) - 1 and _is_emoji(text[index - 1]) and _is_emoji(text[index + 1]))
    if category in ("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs") or char == "\ufffd":
        return True
    if _in(char, _STRAY_BLOCKS):
        return True
    if not latin_only:
        return False
    if category.startswith("L"):
        return not unicodedata.name(char, "").startswith("LATIN") and char not in "ªº"
    if category.startswith("M"):  # combining marks: accents of Latin letters only
        return not (0x0300 <= ord(char) <= 0x036F or char == _VARIATION_SELECTOR)
    return False


def stray_characters(text: str, *, latin_only: bool) -> list[str]:
    """The characters no reader should get, each once as "U+XXXX NAME": control, format (zero-width,
    direction marks, BOM), private-use, unassigned and surrogate characters, U+FFFD, unusual spaces, box
    drawing and Braille; with `latin_only`, also letters and combining marks of other scripts (a stray CJK
    or Hangul glyph in English copy). Emoji, currency signs and typographic punctuation are fine."""
    return list(dict.fromkeys(_name(text[i]) for i in range(len(text)) if _stray(text, i, latin_only)))


# --- Brackets and quotes -------------------------------------------------------------------------------------

_PAIRS = {")": "(", "]": "[", "}": "{", "”": "“"}
_OPENERS = {value: key for key, value in _PAIRS.items()}
# emoticons and list markers close a bracket nobody opened: ":)", ";-)", ":(", "1)", "a)"
_NOT_BRACKETS = re.compile(r"(?m)[:;]-?[()\]\[]|^\s*\w{1,2}\)")


def unbalanced(text: str) -> list[str]:
    """Brackets ( [ { and curly double quotes left open or closed without an opening, in order, and an odd
    number of straight double quotes. Apostrophes and single quotes are not checked: "runners'" and "it's"
    use the same character."""
    text = _NOT_BRACKETS.sub(" ", text)
    problems: list[str] = []
    stack: list[str] = []
    for char in text:
        if char in _OPENERS:
            stack.append(char)
        elif char in _PAIRS:
            if stack and stack[-1] == _PAIRS[char]:
                stack.pop()
            else:
                problems.append(f"'{char}' without an opening '{_PAIRS[char]}'")
    problems += [f"'{char}' never closed" for char in stack]
    if text.count('"') % 2:
        problems.append(f"an odd number ({text.count(chr(34))}) of '\"'")
    return problems


# --- Reading grade -------------------------------------------------------------------------------------------

_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """An English syllable count by vowel groups: a silent final "e" (but not "-le") and "-es"/"-ed" after
    most consonants are dropped; at least one."""
    word = re.sub(r"[^a-z]", "", word.lower())
    if not word:
        return 0
    count = len(_VOWEL_GROUP.findall(word))
    silent_e = word.endswith("e") and not word.endswith(("le", "ee", "ye"))
    silent_ending = re.search(r"[^aeiouytd]e[sd]$", word) and not word.endswith(("ses", "zes", "ces", "ges"))
    if count > 1 and (silent_e or silent_ending):
        count -= 1
    return max(count, 1)


def reading_grade(text: str) -> float | None:
    """Flesch-Kincaid grade: 0.39 words per sentence + 11.8 syllables per word - 15.59, rounded to one
    decimal; None under MIN_GRADE_WORDS words. Numbers and personalisation tokens are not words; a line
    break ends a sentence."""
    parts = sentences(text)
    counted = [[w for w in tokens(part) if not any(c.isdigit() for c in w)] for part in parts]
    counted = [words for words in counted if words]
    total = sum(len(words) for words in counted)
    if total < MIN_GRADE_WORDS:
        return None
    syllable_count = sum(syllables(w) for words in counted for w in words)
    grade = 0.39 * total / len(counted) + 11.8 * syllable_count / total - 15.59
    return round(grade, 1)
