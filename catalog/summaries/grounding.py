"""The grounding check of generated summary text: the sentences whose numbers, commercial claims and aspect
words all come from the facts pass, the rest fail with the reason. `part_grounding_failures` judges one part's
sentence against that part alone (its aspect, its quotes, its polarity, no number: the count is the
template's); `ground` judges a whole text (the evaluation's check of a finished summary). Simple, explainable
rules, not a proof of faithfulness."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inference.grounding import invented_numbers, number_values, numbers, word_set, words

from .polarity import polarity_failures
from .prompt import SummaryFacts, SummaryPart, summary_parts

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CURRENCY = re.compile(r"[$€£¥₹]")
# Commercial claims a review summary must not make unless the insight itself talks about them.
CLAIM_WORDS = word_set(
    """price prices priced pricing cost costs cheap cheaper cheapest expensive affordable value discount discounts
    sale sales deal deals coupon coupons bargain free shipping delivery warranty guarantee guaranteed refund
    refunds"""
)
_CLAIM_PHRASE = re.compile(r"\b(?:special|limited|exclusive|great|best) (?:offer|deal)s?\b|\bon sale\b")
_FIRST_PERSON = word_set("i me my mine we our ours us")
# Clause-level praise and its negations, for the "praises a complaint" rule.
_PRAISE = word_set(
    """reliable great excellent perfect love loved loves amazing praise praised praises good sturdy durable solid
    strong impressive fantastic outstanding superb flawless positive best comfortable"""
)
_CRITICISM = word_set(
    """not no never complain complains complained complaint complaints issue issues problem problems poor bad
    concern concerns wish wishes lack lacks weak drawback downside criticise criticised criticize criticized
    negative unreliable fail fails failed break breaks broke crack cracked leak leaks peel peeling t"""
)
COPIED_RUN = 6  # words in a row shared with a customer quote: copied, not summarised
_CLAUSE = re.compile(r"[,;:]|\b(?:but|however|although|though|while|whereas|yet)\b")
_FILLER = word_set("a an the of and or with for to in on")
# Product aspects a summary might name (nouns that are rarely anything else). A sentence naming one that
# the insight never mentions is invented, however plausible it sounds.
ASPECT_WORDS = word_set(
    """battery charger charging cable cord plug port usb screen display touchscreen camera lens photo speaker sound
    audio bass treble volume microphone mic noise bluetooth wifi connection connectivity signal app software
    firmware button remote keyboard mouse headphone earbud earphone headset strap buckle clasp zipper pocket handle
    lid seal nozzle spout blade motor fan filter pump hose wheel brake fit size sizing length width height color
    colour fabric material stitching seam sole heel lace insole comfort cushioning padding weight smell scent odor
    taste flavor flavour texture packaging instruction manual assembly installation setup durability quality design
    storage capacity memory speed performance brightness resolution glass plastic metal steel wood leather cotton
    wool foam mattress pillow temperature heating cooling leak waterproof grip ink sleeve collar waist softness
    warmth breathability"""
)


def _stem(word: str) -> str:
    """Fold simple plurals and possessives so "straps" matches "strap"."""
    word = word.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_STEMMED_ASPECTS = frozenset(_stem(w) for w in ASPECT_WORDS)
_STEMMED_CLAIMS = frozenset(_stem(w) for w in CLAIM_WORDS)


def vocabulary(facts: SummaryFacts) -> set[str]:
    """Word stems the insight contains: a summary may name these aspects and no others."""
    texts = [facts.title, facts.category, *facts.topics, *(q.text for q in facts.quotes)]
    texts += [name for name, _ in (*facts.praised, *facts.pains, *facts.needs)]
    return {_stem(word) for text in texts for word in words(text)}


def part_vocabulary(facts: SummaryFacts, part: SummaryPart) -> set[str]:
    """Word stems one part may use: the product's name and category, its aspect and its own quotes."""
    texts = [facts.title, facts.category, part.aspect, *part.quotes]
    return {_stem(word) for text in texts for word in words(text)}


# Words of an aspect or need that a sentence may leave out or reword ("they came with foam tips": foam, tip).
_NOT_NAMING = _FILLER | word_set(
    "it its they them there is are was were be been had has have came come could would should did does bit little "
    "lot more so too that this these those which"
)


def content_stems(text: str) -> set[str]:
    """The stems of an aspect's words that name it ("the battery life" -> battery, life; "they came with foam
    tips" -> foam, tip)."""
    return {_stem(w) for w in words(text)} - _NOT_NAMING


def complaint_only(facts: SummaryFacts) -> set[str]:
    """Stems of aspects reviewers complained about and never praised: praising them is an inversion."""
    praised = {_stem(w) for name, _ in facts.praised for w in words(name)}
    return {_stem(w) for name, _ in facts.pains for w in words(name)} - praised - _FILLER


def copied_quote(sentence: str, facts: SummaryFacts, run: int = COPIED_RUN) -> str | None:
    """The first run of `run` words the sentence shares with a customer quote, if any."""
    said = words(sentence.lower())
    grams = {tuple(said[i : i + run]) for i in range(len(said) - run + 1)}
    for quote in facts.quotes:
        quoted = words(quote.text.lower())
        for i in range(len(quoted) - run + 1):
            if tuple(quoted[i : i + run]) in grams:
                return " ".join(quoted[i : i + run])
    return None


# Quantity words a count must bear out: "most reviewers" of 5 in 40 is false, whatever the model read.
_PEOPLE = r"(?:\s+of\s+(?:the\s+)?|\s+)(?:reviewers?|reviews|customers?|buyers?|users?|owners?|people|shoppers?)\b"
_EVERYONE = re.compile(rf"\b(?:all|every){_PEOPLE}|\b(?:everyone|everybody|unanimous(?:ly)?|universally)\b")
_MAJORITY = re.compile(rf"\bmost{_PEOPLE}|\b(?:majority|widely|overwhelmingly)\b")
_MANY = re.compile(rf"\b(?:many|numerous|countless|lots of|plenty of){_PEOPLE}")
# Numbers in words beyond `inference.grounding.NUMBER_WORDS` ("one" stays: "one of the best" is no count).
_SPELLED = re.compile(
    r"\b(?:(?:thir|four|fif|six|seven|eigh|nine)teen|(?:thir|for|fif|six|seven|eigh|nine)ty|half|halves|third|"
    r"thirds|quarter|quarters|percent|per cent)\b"
)
MANY_SHARE = 0.2  # "many reviewers" needs at least this share of the reviews


def quantity_failures(sentence: str, part: SummaryPart, review_count: int) -> list[str]:
    """Quantity words the part's count does not bear out (the count itself is the template's)."""
    share = part.count / review_count if review_count and part.count else 0.0
    lower = sentence.lower()
    failures = []
    for pattern, needed in ((_EVERYONE, 0.95), (_MAJORITY, 0.5), (_MANY, MANY_SHARE)):
        found = pattern.search(lower)
        if found and share < needed:
            failures.append(f"'{found.group(0)}' but {part.count} of {review_count} reviews")
    return failures


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z]+|\S")


def outside_title_numbers(sentence: str, title: str) -> str:
    """`sentence` without the numbers that are part of the product's name where it names it ("Orbit Arc 12
    Pro", "2-Pack": a number of the title next to a word of the title), so only a count can be a number."""
    title_words, title_numbers = set(words(title)), numbers(title)
    tokens = _TOKEN.findall(sentence)
    alpha = [i for i, token in enumerate(tokens) if token[0].isalpha()]
    kept = []
    for i, token in enumerate(tokens):
        if token[0].isdigit() and numbers(token) <= title_numbers:
            before = [tokens[j].lower() for j in alpha if j < i][-1:]
            after = [tokens[j].lower() for j in alpha if j > i][:1]
            if set(before + after) & title_words:
                continue
        kept.append(token)
    return " ".join(kept)


def part_grounding_failures(sentence: str, part: SummaryPart, facts: SummaryFacts) -> list[str]:
    """Why one part's sentence may not stand for its aspect (empty when it may): any number (the count is the
    template's), the rules of `ground` against the part's own vocabulary (title, category, aspect, quotes),
    a run copied from a quote, its aspect not named, another part's aspect named (a sentence mixing two
    aspects), quantity words its count does not bear out, and the wrong polarity (`polarity`: a praise that
    complains, a complaint or wish that praises, or one that says neither)."""
    failures = []
    text = outside_title_numbers(sentence, facts.title)
    said = sorted(number_values(text) | {m.group(0) for m in _SPELLED.finditer(text.lower())})
    if said:
        failures.append(f"a number (the template adds the count): {', '.join(said)}")
    else:
        reason = _why_ungrounded(sentence, numbers(facts.title), part_vocabulary(facts, part), set())
        if reason:
            failures.append(reason)
    # restating the aspect itself ("wish it came in more colors") is no copy
    own_words = re.compile(r"\b" + r"\W+".join(map(re.escape, words(part.aspect))) + r"\b", re.I)
    copied = copied_quote(own_words.sub(" ", sentence), facts) if words(part.aspect) else None
    if copied:
        failures.append(f"copies a customer quote: {copied}")
    stems = {_stem(w) for w in words(sentence)}
    own = content_stems(part.aspect)
    missing = sorted(own - stems)
    if missing:
        failures.append(f"does not name its aspect ({part.aspect}): {', '.join(missing)}")
    allowed = own | content_stems(facts.title)
    for other in summary_parts(facts):
        theirs = content_stems(other.aspect)
        if other.key != part.key and theirs and not theirs <= allowed and theirs <= stems:
            failures.append(f"names another aspect: {other.aspect}")
    failures += quantity_failures(sentence, part, facts.review_count)
    failures += polarity_failures(sentence, part.kind, [part.aspect, facts.title])
    return failures


@dataclass
class Grounded:
    text: str
    kept: list[str]
    dropped: list[tuple[str, str]]  # (sentence, why)

    @property
    def ok(self) -> bool:
        return bool(self.kept)


def clean_output(output: str) -> str:
    """Strip what small models add around the answer: markdown, a "Summary:" label, wrapping quotes."""
    text = re.sub(r"[*_#`]+", "", output)
    text = re.sub(r"^\s*(?:[-•]|\d+[.)])\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*(?:summary|product summary)\s*:\s*", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split()).strip().strip('"“”').strip()
    return text


def fact_numbers(facts: SummaryFacts) -> set[str]:
    """The numbers a summary may state: the review count, the rating (out of 5), the parts' counts and those
    of the product's name ("Orbit Arc 12 Pro")."""
    counts = [facts.review_count, *(count for _, count in (*facts.praised, *facts.pains, *facts.needs))]
    text = " ".join(str(c) for c in counts)
    rating = f" {facts.rating_average:g}" if facts.rating_average is not None else ""
    return numbers(f"{text}{rating} {facts.title}") | {"5"}


def ground(output: str, facts: SummaryFacts, max_sentences: int = 3) -> Grounded:
    """Keep the sentences whose numbers, commercial claims and aspect words all come from the facts
    (`fact_numbers`).

    Rules, in order, each dropping the sentence: unfinished (cut by the token limit); fence markup; money;
    first person (a copied quote, or the shop's voice); a number (digits or a number word) absent from the
    prompt's facts (presence is checked, not meaning); a price/offer/shipping claim the insight does not
    make; an aspect noun from ASPECT_WORDS the insight never mentions; a clause praising an aspect that
    reviewers only complained about, with no negation or contrast in it. At most `max_sentences` are kept."""
    allowed_numbers = fact_numbers(facts)
    known, complained = vocabulary(facts), complaint_only(facts) - {_stem(w) for w in words(facts.title)}
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(clean_output(output)) if s.strip()):
        reason = _why_ungrounded(sentence, allowed_numbers, known, complained)
        if reason is None and len(kept) >= max_sentences:
            reason = "beyond the sentence limit"
        if reason:
            dropped.append((sentence, reason))
        else:
            kept.append(sentence)
    if kept and dropped:  # a connective that pointed at a dropped sentence now dangles
        kept[0] = re.sub(r"^(?:however|also|additionally|moreover|furthermore|overall),?\s+", "", kept[0], flags=re.I)
        kept[0] = kept[0][:1].upper() + kept[0][1:]
    return Grounded(" ".join(kept), kept, dropped)


def _why_ungrounded(
    sentence: str, allowed_numbers: set[str], vocabulary: set[str], complaint_only: set[str]
) -> str | None:
    if sentence[-1] not in ".!?":
        return "unfinished"
    if "<" in sentence or ">" in sentence or "quotes" in sentence.lower():
        return "markup or talk about the prompt"
    if _CURRENCY.search(sentence):
        return "mentions money"
    lower = sentence.lower()
    found = words(lower)
    if _FIRST_PERSON & set(found):
        return "written as a customer (first person)"
    invented = invented_numbers(sentence, allowed_numbers)
    if invented:
        return f"number not in the insight: {', '.join(invented)}"
    stems = {_stem(w) for w in found}
    for stem in sorted(stems & _STEMMED_CLAIMS):
        if stem not in vocabulary:
            return f"commercial claim not in the insight: {stem}"
    if _CLAIM_PHRASE.search(lower):
        return "commercial claim not in the insight"
    for stem in sorted(stems & _STEMMED_ASPECTS):
        if stem not in vocabulary:
            return f"aspect not in the insight: {stem}"
    for clause in _CLAUSE.split(lower):
        clause_words = set(words(clause))
        praised = {_stem(w) for w in clause_words} & complaint_only
        if praised and clause_words & _PRAISE and not clause_words & _CRITICISM:
            return f"praises what reviewers complained about: {', '.join(sorted(praised))}"
    if len(found) < 4:
        return "too short to say anything"
    return None
