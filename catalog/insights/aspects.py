"""Praised aspects and pain points of a product, from the aspects (with polarity) of its reviews."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inference.aspects.meta import product_mentions

from .quotes import sentence_around

_ARTICLES = re.compile(r"^(the|a|an|this|that|these|those|my|its|their|his|her|our|your)\s+", re.I)


def canonical_aspect(term: str) -> str:
    """Group spellings of one aspect: lower case, no leading article, simple plural folded."""
    value = _ARTICLES.sub("", term.strip().lower())
    value = re.sub(r"\s+", " ", value)
    words = value.split(" ")
    last = words[-1]
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    words[-1] = last
    return " ".join(words)


@dataclass
class _AspectTally:
    mentions: int = 0
    positive: int = 0
    negative: int = 0
    neutral: int = 0
    spellings: Counter[str] = field(default_factory=Counter)
    quotes: dict[str, list[tuple[float, str, int]]] = field(default_factory=lambda: defaultdict(list))


def join_variants(keys: Iterable[str], mentions: Mapping[str, int]) -> dict[str, str]:
    """Key -> the key it is counted under: a phrase whose ending of two or more words is itself a key
    mentioned at least as often joins it ("memory-foam ear cushion", "foam ear cushion" -> "ear cushion").
    A one-word ending is not enough: "sound quality" and "build quality" are not "quality"."""
    joined: dict[str, str] = {}
    for key in sorted(keys, key=lambda k: (len(k.replace("-", " ").split()), k)):
        words = key.replace("-", " ").split()
        target = key
        for cut in range(1, len(words) - 1):
            ending = " ".join(words[cut:])
            if ending in joined and mentions.get(ending, 0) >= mentions.get(key, 0):
                target = joined[ending]
                break
        joined[key] = target
    return joined


def _name(key: str, spellings: Counter[str]) -> str:
    """The most used spelling of the aspect itself ("ear cushions", not "foam ear cushions")."""
    own = [spelling for spelling, _ in spellings.most_common() if canonical_aspect(spelling) == key]
    return own[0] if own else (spellings.most_common(1)[0][0] if spellings else key)


def product_nouns(title: str, category: str) -> set[str]:
    """What reviewers call the product itself: the last word of its title (before any comma or "for") and
    of its category ("... Noise-Cancelling Headphones", "Screen Protector for ...", "Phones > Smartphones"),
    canonical."""
    found = set()
    for text in (re.split(r",|\bfor\b", title, maxsplit=1)[0], category.split(">")[-1]):
        words = re.findall(r"[^\W\d_]+", text.lower())
        if words:
            found.add(canonical_aspect(words[-1]))
    return found


def names_the_product(key: str, nouns: Iterable[str]) -> bool:
    """Whether an aspect key is the product itself: "headphone" in headphones, "phone" in a smartphone,
    "screen protector" in a screen protector."""
    last = key.split(" ")[-1]
    return any(noun == last or (len(key) >= 4 and " " not in key and noun.endswith(key)) for noun in nouns)


def aspect_summary(
    insights: Sequence[tuple[int, str, list[dict[str, Any]], float | None]],
    top: int = 8,
    min_mentions: int = 2,
    product: Iterable[str] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Praised aspects and pain points from (review id, text, aspects, polarity) rows.

    Rank = mentions on that side x share of that side: an aspect many people mention and that is
    nearly always criticised comes first. Quotes are the sentences that mention it, preferring reviews
    whose overall tone agrees, and short ones. Mentions inside a wish (`wish`, see `needs.mark_wishes`)
    are needs and count on no side; variants are counted under the aspect they end with (`join_variants`).
    `product`: what reviewers call the product itself (`product_nouns`), which is no aspect of it. Mentions
    addressed to a model or naming the conversation ("previous instructions") are left out.
    """
    nouns = set(product)
    # mentions that talk to a model are no aspect (`inference.aspects.meta`), stored before the rule or not
    insights = [(rid, text, product_mentions(text, aspects), pol) for rid, text, aspects, pol in insights]
    reviews_mentioning: Counter[str] = Counter()
    for _, _, aspects, _ in insights:
        reviews_mentioning.update({canonical_aspect(str(a.get("term", ""))) for a in aspects if not a.get("wish")})
    joined = join_variants(reviews_mentioning, reviews_mentioning)
    tallies: dict[str, _AspectTally] = defaultdict(_AspectTally)
    for review_id, text, aspects, review_polarity in insights:
        seen: set[str] = set()
        for aspect in aspects:
            if aspect.get("wish"):
                continue
            key = joined.get(canonical_aspect(str(aspect.get("term", ""))), "")
            if not key or key in seen:
                continue
            seen.add(key)
            tally = tallies[key]
            tally.mentions += 1
            tally.spellings[str(aspect.get("term", "")).strip().lower()] += 1
            side = str(aspect.get("polarity", "neutral"))
            if side == "positive":
                tally.positive += 1
            elif side == "negative":
                tally.negative += 1
            else:
                tally.neutral += 1
            start, end = int(aspect.get("start", 0)), int(aspect.get("end", 0))
            quote = sentence_around(text, start, end) if 0 <= start < end <= len(text) else ""
            if quote:
                agreement = (review_polarity or 0.0) * (1 if side == "positive" else -1 if side == "negative" else 0)
                tally.quotes[side].append((-agreement + len(quote) / 400, quote, review_id))

    def entry(key: str, tally: _AspectTally, side: str, count: int) -> dict[str, Any]:
        quotes = sorted(tally.quotes.get(side, []))
        unique: list[dict[str, Any]] = []
        for _, quote, review_id in quotes:
            if all(quote != q["text"] for q in unique):
                unique.append({"text": quote, "review_id": review_id})
            if len(unique) == 3:
                break
        return {
            "aspect": _name(key, tally.spellings),
            "key": key,
            "count": count,
            "mentions": tally.mentions,
            "positive_share": round(tally.positive / tally.mentions, 3),
            "negative_share": round(tally.negative / tally.mentions, 3),
            "quotes": unique,
        }

    praised, pains = [], []
    for key, tally in tallies.items():
        if tally.mentions < min_mentions or names_the_product(key, nouns):
            continue
        if tally.positive:
            praised.append(
                (tally.positive * tally.positive / tally.mentions, entry(key, tally, "positive", tally.positive))
            )
        if tally.negative:
            pains.append(
                (tally.negative * tally.negative / tally.mentions, entry(key, tally, "negative", tally.negative))
            )
    praised.sort(key=lambda pair: (-pair[0], pair[1]["aspect"]))
    pains.sort(key=lambda pair: (-pair[0], pair[1]["aspect"]))
    return [e for _, e in praised[:top]], [e for _, e in pains[:top]]
