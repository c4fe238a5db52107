"""Which way a summary sentence leans: praise, complaint or wish, read from cue words, so a sentence that
states the opposite of its aspect's polarity is caught ("The complaint about switching Bluetooth between
devices works seamlessly" for a pain point, "the battery life is nowhere near the advertised hours" as
praise).

A 0.5B model's sentences are short and plain, so cue words decide well and every verdict can be explained by
the words that caused it: our own lists of praise, complaint and wish cues (the words review summaries use),
phrases ("wears out", "falls short", "could be better", "too small"), and VADER's opinion lexicon for the
rest (|valence| >= LEXICON_MIN). A negation within NEGATION_WINDOW words before a cue flips it ("not
comfortable" is a complaint, "never breaks" praise); a negated verb with no cue after it is a complaint
("never charged", "doesn't last"), a named absence is not ("left no bubbles"). The words of the aspect
itself and of the product's name are not read ("pain relief", "Comfort Pro"). Pure text: no model, no
Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from inference.grounding import word_set, words

PRAISE, COMPLAINT, WISH = "praise", "complaint", "wish"
NEGATION_WINDOW = 3
LEXICON_MIN = 1.0  # VADER valence of a word that counts as a cue on its own ("good" 1.9, "stuck" -1.0)

PRAISE_CUES = word_set(
    """praise praised praises praising love loved loves loving liked likes enjoy enjoyed enjoys appreciate
    appreciated appreciates happy pleased impressed impressive great excellent good nice perfect perfectly amazing
    fantastic wonderful superb outstanding comfortable comfy reliable reliably sturdy durable solid seamless
    seamlessly commendable smooth smoothly easy easily effortless effortlessly favourite favorite recommend
    recommended satisfied delighted best beautiful gorgeous stylish lovely brilliant terrific fabulous awesome
    pleasant convenient handy helpful sturdily praiseworthy exceptional remarkable top-notch flawless flawlessly
    well-made worth snug snugly securely instant instantly"""
)
COMPLAINT_CUES = word_set(
    """complain complains complained complaining complaint complaints gripe gripes criticise criticize criticised
    criticized criticism critical dislike dislikes disliked disappoint disappoints disappointed disappointing
    disappointment frustrated frustrating frustration annoying annoyed annoyance issue issues problem problems
    trouble troubles fault faulty defect defects defective flaw flawed flaws drawback drawbacks downside downsides
    shortcoming shortcomings poor poorly bad worse worst weak flimsy uncomfortable unreliable unfortunately sadly
    broke broken break breaks breaking crack cracked cracks cracking tore torn rip ripped rips leak leaks leaked
    leaking peel peels peeled peeling fade fades faded fading fail fails failed failing failure stopped stuck
    loose drain drains drained draining died dies dying malfunction malfunctions wobbly squeaky scratchy itchy
    returned return returns refund hard difficult awkward cheaply mediocre lacklustre lackluster inconsistent
    uneven unusable useless hazy blurry flimsier cheap plasticky stale papery bland watery drops
    dropped dropping disconnect disconnects disconnected disconnecting"""
)
WISH_CUES = word_set(
    """wish wishes wished wishing want wants wanted hope hopes hoped hoping missing lack lacks lacking request
    requests requested suggest suggests suggested prefer prefers preferred"""
)
NEGATIONS = word_set(
    "not no never nor nothing nobody none neither nowhere without hardly barely cannot t"  # "doesn't": "doesn t"
)
# Negations that name an absence ("left no bubbles", "without tangles"): they flip a cue after them, but alone
# they are no complaint, unlike a negated verb ("does not last", "never charged").
ABSENCE = word_set("no nothing none without")
CLAUSE_BREAKS = word_set("but however although though while whereas yet")
_WISHED = "wishphrase"  # stands in for a wish phrase ("would love") once it is read
# Words whose VADER valence misleads here: framing ("reviewers like"), aspects ("comfort", "support"), and
# words the cue lists above already place on the right side ("wish" is +1.7 in VADER, a wish here).
LEXICON_IGNORED = word_set(
    """like please pretty yes ok okay fine kind thanks thank true sure well want wants wanted wish wishes wished
    hope hopes hoped care careful clean clear fit fits comfort support supports protection protect protects
    value free freedom ready fresh warm strong stronger strength easy play playing help helps share shared
    interest interested matter huh yeah agree agreed cut cuts better improve improved improves improving
    improvement"""
)
# Phrases read before the words (their words are then not read again).
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bwould (?:like|love|prefer|appreciate|welcome|enjoy)\b"), WISH),
    (re.compile(r"\bwould (?:be|have been) (?:great|nice|good|better|lovely|ideal|awesome|helpful) (?:if|to)\b"), WISH),
    # "like" is read only as what people do ("reviewers like"), not as "feels like plastic"
    (re.compile(r"\b(?:reviewers|customers|buyers|users|owners|people|they|many|some|most) (?:really |also |"
                r"especially )?(?:like|liked)\b"), PRAISE),
    (re.compile(r"\b(?:could|should|would) (?:be|have been) (?:better|improved|bigger|larger|longer|smaller)\b"),
     COMPLAINT),
    (re.compile(r"\b(?:wears?|wore|worn|falls?|fell|comes?|came) (?:out|apart|off|loose)\b"), COMPLAINT),
    (re.compile(r"\b(?:falls?|fell) short\b"), COMPLAINT),
    (re.compile(r"\bnowhere near\b"), COMPLAINT),
    (re.compile(r"\b(?:runs?|ran) (?:small|large|big|short|long|narrow|wide)\b"), COMPLAINT),
    (re.compile(r"\btoo (?!many\b|much\b)[a-z]+"), COMPLAINT),  # "too small", "too strong" (not "love it too")
    (re.compile(r"\bnot (?:enough|as)\b"), COMPLAINT),
    (re.compile(r"\bno longer\b"), COMPLAINT),
)


@cache
def _lexicon() -> dict[str, float]:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:  # pragma: no cover - vadersentiment is a dependency
        return {}
    return dict(SentimentIntensityAnalyzer().lexicon)


@dataclass
class Leaning:
    """The cues of one sentence, by side, each as the words that carried it."""

    praise: list[str] = field(default_factory=list)
    complaint: list[str] = field(default_factory=list)
    wish: list[str] = field(default_factory=list)

    def side(self, name: str) -> list[str]:
        return {PRAISE: self.praise, COMPLAINT: self.complaint, WISH: self.wish}[name]


def _word_side(word: str) -> str | None:
    if word in PRAISE_CUES:
        return PRAISE
    if word in COMPLAINT_CUES:
        return COMPLAINT
    if word in WISH_CUES:
        return WISH
    if word in LEXICON_IGNORED:
        return None
    valence = _lexicon().get(word, 0.0)
    if valence >= LEXICON_MIN:
        return PRAISE
    if valence <= -LEXICON_MIN:
        return COMPLAINT
    return None


def _stem(word: str) -> str:
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def leaning(sentence: str, ignored: Iterable[str] = ()) -> Leaning:
    """The praise, complaint and wish cues of `sentence`; the words of `ignored` (the aspect, the product's
    name) are not read. A negation flips the next cue within NEGATION_WINDOW words (praise <-> complaint; a
    negated wish stays a wish); a negation with no cue after it is a complaint unless it names an absence.
    After a wish, praise words of the same clause are what is wished for ("wish for sturdier, durable tips")."""
    skip = {_stem(w) for text in ignored for w in words(text)}
    text = " ".join(words(sentence))
    found = Leaning()
    for pattern, side in _PHRASES:
        for match in pattern.finditer(text):
            found.side(side).append(match.group(0))
        text = pattern.sub(f" {_WISHED} " if side == WISH else " ", text)
    tokens = text.split()
    flipped: set[int] = set()
    for i, word in enumerate(tokens):
        if word not in NEGATIONS:
            continue
        window = range(i + 1, min(len(tokens), i + 1 + NEGATION_WINDOW))
        target = next((j for j in window if _stem(tokens[j]) not in skip and _word_side(tokens[j])), None)
        if target is not None:
            flipped.add(target)
        elif word not in ABSENCE:
            found.complaint.append(" ".join(tokens[i : i + 1 + NEGATION_WINDOW]))
    wishing = False  # after a wish, praise words are what is wished for ("wish for better tips")
    for i, word in enumerate(tokens):
        if word == _WISHED:
            wishing = True
            continue
        if word in CLAUSE_BREAKS:
            wishing = False
        if word in NEGATIONS or _stem(word) in skip:
            continue
        read = _word_side(word)
        if read is None:
            continue
        if i in flipped and read != WISH:
            read = COMPLAINT if read == PRAISE else PRAISE
            word = f"not {word}"
        if read == PRAISE and wishing:
            read, word = WISH, f"wished {word}"
        wishing = wishing or read == WISH
        found.side(read).append(word)
    return found


# What a sentence of each kind must say, and what it may not.
EXPECTED = {PRAISE: (PRAISE,), COMPLAINT: (COMPLAINT, WISH), WISH: (WISH,)}
OPPOSITE = {PRAISE: (COMPLAINT, WISH), COMPLAINT: (PRAISE,), WISH: (PRAISE,)}
_SAYS = {PRAISE: "praise", COMPLAINT: "a complaint", WISH: "a wish"}


def contradicts(text: str, kind: str, ignored: Iterable[str] = ()) -> bool:
    """Whether `text` (a customer quote) leans only the other way from `kind`: a praise quote with complaint
    cues and no praise cue, a complaint quote with praise cues and none of complaint or wish."""
    found = leaning(text, ignored)
    return any(found.side(side) for side in OPPOSITE[kind]) and not any(found.side(side) for side in EXPECTED[kind])


def supports(text: str, kind: str, ignored: Iterable[str] = ()) -> bool:
    """Whether `text` (a customer quote) says what a `kind` sentence must say (a praise cue for praise, a
    complaint or wish cue for a complaint, a wish cue for a wish)."""
    found = leaning(text, ignored)
    return any(found.side(side) for side in EXPECTED[kind])


def polarity_failures(sentence: str, kind: str, ignored: Iterable[str] = ()) -> list[str]:
    """Why `sentence` does not read as `kind` (PRAISE, COMPLAINT or WISH): it states the opposite (a praise
    sentence with a complaint or wish in it, a complaint or wish sentence with praise in it), or it states
    neither (a sentence that does not say what reviewers think says nothing a manager can use)."""
    if kind not in EXPECTED:
        raise ValueError(f"unknown polarity {kind!r}")
    found = leaning(sentence, ignored)
    failures = []
    opposite = [cue for side in OPPOSITE[kind] for cue in found.side(side)]
    if opposite:
        failures.append(f"states the opposite of {_SAYS[kind]}: {', '.join(opposite)}")
    if not any(found.side(side) for side in EXPECTED[kind]):
        failures.append(f"does not say {_SAYS[kind]}")
    return failures
