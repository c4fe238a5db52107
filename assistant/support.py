"""Is a generated sentence supported by the evidence, and by which passage? The check every sentence of an
answer passes before a shopper reads it (the summaries' approach, catalog/summaries/grounding.py, applied to
retrieved passages instead of review insight).

A sentence is removed, with the reason, when it:
- carries fence markup or talks about the prompt ("<evidence>", "passage [2]", "as an AI");
- states a number (digits, a number word, a Chinese numeral; prices, percentages and dates are numbers)
  that no passage contains (`inference.grounding.invented_numbers`);
- makes an offer or a promise (discount, coupon, free, refund, guarantee, 优惠, 折, 免费, 保证 ...) whose word
  no passage uses;
- is not in the shopper's language (a Chinese question gets Chinese sentences);
- shares too little with any one passage: for Latin script, the share of its content words (stemmed, stop
  words out) found in the passage, at least MIN_WORD_OVERLAP; for Chinese, the share of its Han character
  bigrams, at least MIN_BIGRAM_OVERLAP. A sentence made only of words of the question restates it;
- denies what its passage sentence affirms, or the other way round (`negated`: "Yes, it comes in blue"
  against "No, only black and silver").
A kept sentence is attributed to the passage it overlaps most, and the citation quotes that passage's
sentence that overlaps it most. Simple, explainable rules, not a proof of faithfulness.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog.language import detect_language
from inference.grounding import invented_numbers, number_values, word_set, words

from .evidence import Evidence

MIN_WORD_OVERLAP = 0.5  # share of a sentence's content words one passage must contain
MIN_BIGRAM_OVERLAP = 0.4  # share of a Chinese sentence's character bigrams one passage must contain
MIN_CONTENT = 2  # a sentence with fewer content words (or bigrams) says nothing checkable

STOP_WORDS = word_set(
    """a an the and or but if then so of to in on at by for with from as is are was were be been being am it its
    this that these those there here they them their you your yours we our us i me my he she his her do does did
    doing have has had having can could will would shall should may might must not no yes also just only very
    too than what which who whom whose when where why how all any each both some such more most other into out
    up down over about after before again once s t don doesn didn isn aren wasn weren won ll ve re d m
    yes please thanks thank hello hi product item"""
)
# Offers and promises: a sentence using one of these must find it in a passage.
OFFER_WORDS = word_set(
    """discount discounts discounted coupon coupons voucher vouchers promo promotion code codes sale deal deals
    free gratis refund refunds refunded compensation compensate cashback rebate guarantee guaranteed guarantees
    promise promised promises warranty gift gifts bonus off cheaper price prices priced cost costs"""
)
OFFER_HAN = (
    "优惠", "折扣", "打折", "折", "免费", "包邮", "退款", "赔偿", "补偿", "返现", "赠送",
    "送你", "保证", "承诺", "红包", "券", "价格", "元", "块钱", "保修", "质保",
)
_MARKUP = re.compile(r"[<>]|\b(?:passage|evidence|the data|the question|as an ai|language model|system prompt)\b"
                     r"|证据|段落|提示词", re.I)
# Text that addresses a model instead of a shopper: a passage saying this is left out of an answer altogether
# (a shopper's "answer" imported with the product questions could say it).
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget) (?:all |any |your |the |previous |prior |above )*(?:rules|instructions|prompts?)"
    r"|\byou are now\b|^\s*(?:system|assistant)\s*:|\b(?:system|developer) prompt\b|</?(?:evidence|question|data)>"
    r"|<\|im_(?:start|end)\|>|忽略(?:你的|所有|之前的)?(?:规则|指令|提示)|你现在是",
    re.I | re.M,
)
_NEGATION = re.compile(r"\b(?:no|not|never|none|nothing|only|cannot|without)\b|n't\b|[不没未别]", re.I)
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？!?；;])|\n+")
_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]+")


@dataclass(frozen=True)
class Verdict:
    """One sentence judged: kept (with the passage and the passage sentence that support it) or removed."""

    sentence: str
    reason: str = ""  # why it was removed; empty when kept
    evidence: Evidence | None = None
    quote: str = ""
    overlap: float = 0.0

    @property
    def kept(self) -> bool:
        return not self.reason

    def record(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "kept": self.kept, "reason": self.reason,
                "chunk": self.evidence.chunk_id if self.evidence else None, "overlap": round(self.overlap, 3)}


def negated(text: str) -> bool:
    """Does the sentence deny or restrict ("no", "not", "only", "n't", 不, 没)? A sentence and the passage
    sentence that supports it must agree, or "Yes, it comes in blue" would pass on "No, only black"."""
    return bool(_NEGATION.search(text))


def looks_like_instructions(text: str) -> bool:
    """Does `text` address a model ("ignore your rules", "system: you are now ...")?"""
    return bool(_INSTRUCTIONS.search(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of Latin or Chinese text (Chinese full stops, exclamation and question marks end a
    sentence without a following space)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _chinese_number(run: str) -> str:
    """A simple Chinese numeral in digits ("七" 7, "三十" 30, "十五" 15, "两百" 200); the run itself otherwise."""
    total, current = 0, 0
    for ch in run:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in "十百千":
            total += (current or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            current = 0
    value = total + current
    return str(value) if value or run in ("零", "〇") else run


def with_digits(text: str) -> str:
    """`text` with Chinese numerals written in digits, so "七天" and "7天" are one number."""
    return _CN_NUMBER.sub(lambda m: f" {_chinese_number(m.group(0))} ", text)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed content words of Latin-script text (digits are checked as numbers instead)."""
    return {_stem(w) for w in words(text) if w not in STOP_WORDS and len(w) > 1}


def bigrams(text: str) -> set[str]:
    """Han character bigrams of `text` (single characters for a one-character run)."""
    grams: set[str] = set()
    for run in _HAN_RUN.findall(text):
        grams.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return grams


def units(text: str) -> set[str]:
    """What overlap counts: content words and Han bigrams together (mixed text has both)."""
    return content_words(text) | bigrams(text)


def overlap(sentence_units: set[str], passage: str) -> float:
    """Share of the sentence's units found in `passage`."""
    if not sentence_units:
        return 0.0
    return len(sentence_units & units(passage)) / len(sentence_units)


def _offer_problem(sentence: str, allowed: str) -> str:
    allowed_lower = allowed.lower()
    allowed_words = {_stem(w) for w in words(allowed_lower)}
    for word in words(sentence.lower()):
        if word in OFFER_WORDS and _stem(word) not in allowed_words:
            return f"offer or promise not in the evidence: {word}"
    if re.search(r"\d\s*%\s*off|\boff\b", sentence.lower()) and " off" not in allowed_lower:
        return "offer or promise not in the evidence: off"
    for word in OFFER_HAN:
        if word in sentence and word not in allowed:
            return f"offer or promise not in the evidence: {word}"
    return ""


def _in_language(sentence: str, language: str) -> bool:
    found = detect_language(sentence, "en")
    if language == "zh":
        return found == "zh"
    return found != "zh" if _HAN.search(sentence) else True


def best_quote(evidence: Evidence, sentence_units: set[str]) -> tuple[str, float]:
    """The passage's sentence that shares most with the sentence, and the share."""
    scored = [(overlap(sentence_units, part), part) for part in split_sentences(evidence.text)]
    if not scored:
        return evidence.text, 0.0
    share, quote = max(scored, key=lambda row: row[0])
    return quote, share


def judge(sentence: str, evidence: Sequence[Evidence], language: str, question: str = "") -> Verdict:
    """Kept with its supporting passage, or removed with the reason (see the module docstring)."""
    allowed = "\n".join(f"{e.title}\n{e.text}" for e in evidence)
    if _MARKUP.search(sentence):
        return Verdict(sentence, "markup or talk about the prompt")
    invented = invented_numbers(with_digits(sentence), number_values(with_digits(allowed)))
    if invented:
        return Verdict(sentence, f"number not in the evidence: {', '.join(invented)}")
    problem = _offer_problem(sentence, allowed)
    if problem:
        return Verdict(sentence, problem)
    if not _in_language(sentence, language):
        return Verdict(sentence, f"not in the shopper's language ({language})")
    own = units(sentence)
    if len(own) < MIN_CONTENT:
        return Verdict(sentence, "too short to say anything")
    if question and own <= units(question):
        return Verdict(sentence, "only restates the question")
    threshold = MIN_BIGRAM_OVERLAP if bigrams(sentence) else MIN_WORD_OVERLAP
    scored = [(overlap(own, f"{e.title}\n{e.text}"), i) for i, e in enumerate(evidence)]
    share, index = max(scored, default=(0.0, -1))
    if index < 0 or share < threshold:
        return Verdict(sentence, f"not supported by any passage (overlap {share:.2f} < {threshold:g})", overlap=share)
    # cite the passage that holds the sentence's numbers: a product's passages share its title, so by words
    # alone "they weigh 250 grams" was credited to "color: Silver"
    stated = number_values(with_digits(sentence))
    holds = [stated <= number_values(with_digits(e.text)) if stated else False for e in evidence]
    _, share, neg_index = max((holds[i], s, -i) for s, i in scored if s >= threshold)
    index = -neg_index
    quote, _ = best_quote(evidence[index], own)
    if negated(sentence) != negated(quote):
        return Verdict(sentence, f"contradicts its passage (negation): {quote}", overlap=share)
    return Verdict(sentence, "", evidence[index], quote, share)
