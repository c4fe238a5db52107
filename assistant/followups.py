"""Follow-up questions resolved against the conversation: "and in blue?", "what about the 2-pack?", "does
it?", "那黑色的呢" mean nothing to a search engine alone, so the query searched joins them to the shopper's
previous question ("Does it come in black? in blue?"), and the product in focus stays the conversation's.

A message is a follow-up when it leans on what came before: it opens with a connective ("and", "what
about", "how about", "also", 那, 还有, 另外) or ends with 呢, or it is so short that it names nothing itself
("does it?", "in blue?", "2-pack?": at most SHORT_WORDS words, SHORT_HAN Chinese characters). A question
that stands on its own ("Is the battery replaceable?") is left alone; "it" in it is the product in focus,
which retrieval is scoped to anyway. A follow-up that changes topic to delivery or returns ("and returns?")
is searched on its own words: joining it to a product question would only blur the search.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Intent

SHORT_WORDS = 3  # "does it?", "in blue?", "the 2-pack?"
SHORT_HAN = 5  # "黑色的呢" is 4, "有蓝色吗" 4; "这款耳机的续航多久" is 9
MAX_QUERY_CHARS = 300  # a chain of follow-ups keeps its most recent words
TOPICS = frozenset({Intent.DELIVERY, Intent.RETURNS})  # topics of their own: a switch to one is no follow-up

_CONNECTIVE = re.compile(
    r"^\s*(?:and|but|also|or|plus|so|then|what about|how about|what if|and if|and what about|and how about|"
    r"same (?:for|with)|ok(?:ay)?,? (?:and|what about|how about)|那么|那|还有|另外|然后|再问一下|顺便问一下|如果是)"
    r"(?=\W|$|[\u4e00-\u9fff])[\s,，、]*",
    re.IGNORECASE,
)
_TRAILING_NE = re.compile(r"呢\s*[?？]?\s*$")
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_GREETING_OR_THANKS = re.compile(
    r"^\s*(?:hi|hello|hey|thanks?|thank you|ok(?:ay)?|great|cool|bye|你好|您好|谢谢|好的|嗯)[\s!.,！。]*$", re.I
)


@dataclass(frozen=True)
class Turn:
    """A previous shopper message as follow-up resolution reads it."""

    text: str
    resolved_query: str
    intent: str


@dataclass(frozen=True)
class Resolved:
    """What to search for one message: `query` (the message itself, or joined to the previous question),
    whether it was a follow-up and which question it followed."""

    query: str
    followup: bool
    previous: str = ""


def _size(text: str) -> tuple[int, int]:
    """(Latin words, Han characters) of `text`."""
    return len(_WORD.findall(text)), len(_HAN.findall(text))


def is_followup(question: str) -> bool:
    """Does the message lean on the one before (see the module docstring)?"""
    text = question.strip()
    if not text or _GREETING_OR_THANKS.match(text):
        return False
    if _CONNECTIVE.match(text) or _TRAILING_NE.search(text):
        return True
    words, han = _size(text)
    if han:
        return han + words <= SHORT_HAN
    return 0 < words <= SHORT_WORDS


def _trimmed(query: str) -> str:
    """The last MAX_QUERY_CHARS characters of a query, cut at a word boundary."""
    if len(query) <= MAX_QUERY_CHARS:
        return query
    tail = query[-MAX_QUERY_CHARS:]
    return tail.split(" ", 1)[1] if " " in tail[:40] else tail


def resolve(question: str, history: Sequence[Turn], intent: str = "") -> Resolved:
    """The query for `question` given the shopper's earlier turns (oldest first) and its own intent."""
    text = " ".join(question.split())
    previous = next((turn for turn in reversed(history) if turn.resolved_query.strip()), None)
    if previous is None or not is_followup(text):
        return Resolved(text, False)
    if intent in TOPICS and intent != previous.intent:
        return Resolved(text, False)
    own = _CONNECTIVE.sub("", text, count=1).strip() or text
    return Resolved(_trimmed(f"{previous.resolved_query.strip()} {own}"), True, previous.resolved_query)
