"""Compose review titles and texts whose words agree with their star rating.

A review is built from a polarity plan (5 stars: praise only; 4: praise, maybe one small gripe; 3: mixed
or lukewarm; 2: mostly complaints; 1: complaints only). Which aspects get praised or blamed follows the
product's own strengths and weaknesses, so each product has recurring pain points of its own, which is
what review insight is supposed to find. Sentence frames vary so that the texts do not read as one
template.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..catalog_data import GENERIC_ASPECTS, Aspect, Category, ProductType

GENERIC_NAMES = tuple(aspect.name for aspect in GENERIC_ASPECTS)
GENERIC_WEIGHT = 0.35  # shipping and price come up less often than the product itself

Polarity = str  # "pos", "neg" or "neutral"


@dataclass(frozen=True)
class ReviewSubject:
    """What a reviewer knows about the product: its kind and how good it is at each aspect (-1..1)."""

    category: Category
    product_type: ProductType
    strengths: Mapping[str, float]

    @property
    def aspect_names(self) -> tuple[str, ...]:
        return self.product_type.aspects + GENERIC_NAMES

    @property
    def pronoun(self) -> str:
        return "them" if self.product_type.this_noun.startswith("these") else "it"


# --- English frames -------------------------------------------------------------------------------------
EN_POS_ONE = (
    "{P}.",
    "{P}, which I didn't expect at this price.",
    "Honestly, {p}.",
    "I was pleasantly surprised that {p}.",
    "What stands out is that {p}.",
    "{P} — exactly what I was hoping for.",
    "Really happy that {p}.",
)
EN_POS_TWO = ("{P1}, and {p2}.", "{P1}. On top of that, {p2}.", "{P1}. Also, {p2}.")
EN_NEG_ONE = (
    "{N}.",
    "Unfortunately, {n}.",
    "My main complaint is that {n}.",
    "{N}, which is frustrating.",
    "The problem is that {n}.",
    "Sadly, {n}.",
    "Be aware that {n}.",
)
EN_NEG_TWO = ("{N1}, and {n2}.", "{N1}. On top of that, {n2}.", "{N1}. Worse, {n2}.")
EN_MIXED = (
    "{P}, but {n}.",
    "While {p}, {n}.",
    "{P}. That said, {n}.",
    "{N}, although {p}.",
    "I like that {p}; the downside is that {n}.",
)
EN_MINOR_NEG = ("My only small gripe is that {n}.", "One minor thing: {n}.", "If I had to nitpick, {n}.")
EN_NEUTRAL = (
    "The {a} is okay, nothing special.",
    "The {a} is about what you'd expect for the price.",
    "No strong feelings about the {a} either way.",
    "The {a} is fine.",
)
EN_OPENINGS = (
    "I've had {this} for about {weeks} weeks now.",
    "Bought {this} to replace my old one.",
    "Ordered {this} after reading a lot of reviews.",
    "Got {this} as a gift for my {relative}.",
    "I use {this} almost every day.",
)
EN_HAPPY_OPENINGS = ("Second time buying {this}.", "After a month with {this}, here's my verdict.")
EN_RELATIVES = ("partner", "sister", "dad", "mum", "brother", "best friend")
EN_OVERALL = {
    5: ("Highly recommend.", "Would buy again without hesitation.", "Love {it}!", "Five stars from me.",
        "Couldn't be happier."),
    4: ("Overall a solid buy.", "Happy with {it} overall.", "Pretty happy overall.", "Very good, just not perfect."),
    3: ("It's okay for the price, nothing special.", "Mixed feelings overall.", "Not bad, not great.",
        "It does the job, but I expected more."),
    2: ("Can't really recommend {it}.", "Disappointed overall.", "I expected a lot more.",
        "Probably won't buy from this brand again."),
    1: ("Returning {it}.", "Save your money.", "Complete waste of money.", "Really disappointed.", "Avoid."),
}
EN_TITLES = {
    5: ("Love it", "Exactly what I needed", "Worth every penny", "Fantastic", "Best purchase this year"),
    4: ("Very good", "Solid choice", "Really nice", "Almost perfect"),
    3: ("It's okay", "Decent but not great", "Mixed feelings", "Average"),
    2: ("Disappointed", "Not as described", "Expected better"),
    1: ("Do not buy", "Returned it", "Very disappointed", "Waste of money"),
}
EN_POS_TITLES = ("Great {a}", "Love the {a}", "{A} is superb", "Impressive {a}")
EN_NEG_TITLES = ("Disappointing {a}", "{A} lets it down", "Poor {a}", "Watch out for the {a}")
EN_MIXED_TITLES = ("Good, but the {a} needs work", "Nice, except for the {a}")

# --- Chinese frames -------------------------------------------------------------------------------------
ZH_POS_ONE = ("{p}。", "{p}，很满意。", "{p}，超出预期。", "没想到{p}。")
ZH_POS_TWO = ("{p1}，{p2}。", "{p1}，而且{p2}。")
ZH_NEG_ONE = ("{n}。", "{n}，很失望。", "可惜{n}。", "{n}，有点坑。")
ZH_NEG_TWO = ("{n1}，{n2}。", "{n1}，而且{n2}。")
ZH_MIXED = ("{p}，但是{n}。", "{p}，不过{n}。", "虽然{p}，但是{n}。")
ZH_MINOR_NEG = ("唯一的小缺点是{n}。", "美中不足的是{n}。")
ZH_NEUTRAL = ("{a}一般，中规中矩。", "{a}还行吧。")
ZH_OPENINGS = ("用了两个星期了。", "给家里人买的。", "看了很多评价才下单的。")
ZH_HAPPY_OPENINGS = ("第二次购买了。",)
ZH_WISH_FRAMES = ("希望{w}。", "如果{w}就更好了。")
ZH_OVERALL = {
    5: ("总体非常满意，推荐购买！", "五星好评！", "非常推荐。"),
    4: ("总体不错。", "还是挺满意的。"),
    3: ("一般般吧。", "中规中矩。", "凑合能用。"),
    2: ("不太推荐。", "有点失望。"),
    1: ("不会再买了。", "已经申请退货了。", "大家别买。"),
}
ZH_TITLES = {
    5: ("非常满意", "物超所值", "强烈推荐"),
    4: ("不错", "挺好的"),
    3: ("一般", "还行"),
    2: ("有点失望", "不太满意"),
    1: ("很失望", "质量太差", "别买"),
}
ZH_POS_TITLES = ("{a}很棒",)
ZH_NEG_TITLES = ("{a}太差了",)
ZH_MIXED_TITLES = ("整体不错，{a}有待改进",)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Frames:
    """Picks sentence frames without repeating one inside a review ("What stands out..." twice reads
    as a template)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def pick(self, frames: Sequence[str]) -> str:
        fresh = [frame for frame in frames if frame not in self.used]
        frame = self.rng.choice(fresh or list(frames))
        self.used.add(frame)
        return frame


def polarity_plan(rng: random.Random, rating: int) -> list[Polarity]:
    """Which sentiments a review with `rating` stars expresses, in order of appearance."""
    if rating >= 5:
        return ["pos"] * rng.choice((1, 2, 2, 3))
    if rating == 4:
        plan = ["pos"] * rng.choice((1, 2, 2))
        return [*plan, "neg"] if rng.random() < 0.35 else plan
    if rating == 3:
        return list(rng.choice((("pos", "neg"), ("neg", "pos"), ("pos", "neg", "neutral"), ("neutral", "neg"),
                                ("neutral", "pos", "neg"), ("neutral", "neutral"))))
    if rating == 2:
        plan = ["neg"] * rng.choice((1, 2, 2))
        return [*plan, "pos"] if rng.random() < 0.4 else plan
    return ["neg"] * rng.choice((1, 2, 2, 3))


def _pick_aspects(rng: random.Random, subject: ReviewSubject, plan: Sequence[Polarity]) -> list[Aspect]:
    """One distinct aspect per planned sentiment, drawn towards what the product is good or bad at."""
    chosen: list[Aspect] = []
    used: set[str] = set()
    for polarity in plan:
        names = [name for name in subject.aspect_names if name not in used]
        weights = []
        for name in names:
            strength = subject.strengths.get(name, 0.0)
            # squared, so a product's clear strengths and weaknesses dominate what reviewers mention
            if polarity == "pos":
                weight = 0.15 + max(0.0, strength) ** 2 * 4.0
            elif polarity == "neg":
                weight = 0.15 + max(0.0, -strength) ** 2 * 5.0
            else:
                weight = 1.0 - abs(strength) * 0.7
            weights.append(weight * (GENERIC_WEIGHT if name in GENERIC_NAMES else 1.0))
        name = rng.choices(names, weights)[0]
        used.add(name)
        chosen.append(subject.category.aspect(name))
    return chosen


@dataclass
class _Parts:
    pos: list[tuple[Aspect, str]]
    neg: list[tuple[Aspect, str]]
    neutral: list[Aspect]


def _parts(rng: random.Random, plan: Sequence[Polarity], aspects: Sequence[Aspect], zh: bool) -> _Parts:
    parts = _Parts([], [], [])
    for polarity, aspect in zip(plan, aspects, strict=True):
        if polarity == "pos":
            parts.pos.append((aspect, rng.choice(aspect.zh_positive if zh else aspect.positive)))
        elif polarity == "neg":
            parts.neg.append((aspect, rng.choice(aspect.zh_negative if zh else aspect.negative)))
        else:
            parts.neutral.append(aspect)
    return parts


def _english_body(rng: random.Random, frames: _Frames, rating: int, parts: _Parts) -> list[str]:
    pos = [phrase for _, phrase in parts.pos]
    neg = [phrase for _, phrase in parts.neg]
    sentences: list[str] = []
    neutral = [frames.pick(EN_NEUTRAL).format(a=aspect.name) for aspect in parts.neutral]
    if rating == 4 and neg:  # praise first, then the small gripe
        sentences += _english_group(rng, frames, pos, EN_POS_ONE, EN_POS_TWO, "p", "P")
        sentences.append(frames.pick(EN_MINOR_NEG).format(n=neg[0]))
        return sentences
    if pos and neg and rng.random() < 0.65:
        p, n = pos.pop(0), neg.pop(0)
        sentences.append(frames.pick(EN_MIXED).format(p=p, P=_cap(p), n=n, N=_cap(n)))
    positive = _english_group(rng, frames, pos, EN_POS_ONE, EN_POS_TWO, "p", "P")
    negative = _english_group(rng, frames, neg, EN_NEG_ONE, EN_NEG_TWO, "n", "N")
    sentences = negative + sentences + positive if rating <= 2 else positive + sentences + negative
    # a lukewarm remark goes where the plan put it: first when the review opens with it
    return neutral + sentences if parts.neutral and rng.random() < 0.6 else sentences + neutral


def _english_group(
    rng: random.Random, frames: _Frames, phrases: list[str], one: Sequence[str], two: Sequence[str], low: str,
    cap: str,
) -> list[str]:
    sentences: list[str] = []
    remaining = list(phrases)
    if len(remaining) >= 2 and rng.random() < 0.5:
        first, second = remaining.pop(0), remaining.pop(0)
        sentences.append(frames.pick(two).format(**{f"{low}1": first, f"{cap}1": _cap(first), f"{low}2": second}))
    for phrase in remaining:
        sentences.append(frames.pick(one).format(**{low: phrase, cap: _cap(phrase)}))
    return sentences


def _chinese_body(rng: random.Random, frames: _Frames, rating: int, parts: _Parts) -> list[str]:
    pos = [phrase for _, phrase in parts.pos]
    neg = [phrase for _, phrase in parts.neg]
    sentences: list[str] = [frames.pick(ZH_NEUTRAL).format(a=aspect.zh_name) for aspect in parts.neutral]
    if rating == 4 and neg:
        sentences += _chinese_group(rng, frames, pos, ZH_POS_ONE, ZH_POS_TWO, "p")
        sentences.append(frames.pick(ZH_MINOR_NEG).format(n=neg[0]))
        return sentences
    if pos and neg and rng.random() < 0.7:
        sentences.append(frames.pick(ZH_MIXED).format(p=pos.pop(0), n=neg.pop(0)))
    positive = _chinese_group(rng, frames, pos, ZH_POS_ONE, ZH_POS_TWO, "p")
    negative = _chinese_group(rng, frames, neg, ZH_NEG_ONE, ZH_NEG_TWO, "n")
    return sentences + (negative + positive if rating <= 2 else positive + negative)


def _chinese_group(
    rng: random.Random, frames: _Frames, phrases: list[str], one: Sequence[str], two: Sequence[str], key: str
) -> list[str]:
    remaining = list(phrases)
    sentences: list[str] = []
    if len(remaining) >= 2 and rng.random() < 0.6:
        sentences.append(frames.pick(two).format(**{f"{key}1": remaining.pop(0), f"{key}2": remaining.pop(0)}))
    sentences += [frames.pick(one).format(**{key: phrase}) for phrase in remaining]
    return sentences


def _title(rng: random.Random, rating: int, parts: _Parts, zh: bool) -> str:
    if rng.random() < 0.5:
        return rng.choice(ZH_TITLES[rating] if zh else EN_TITLES[rating])
    frames: Sequence[str]
    if rating >= 4 and parts.pos:
        aspect, frames = parts.pos[0][0], (ZH_POS_TITLES if zh else EN_POS_TITLES)
    elif rating <= 2 and parts.neg:
        aspect, frames = parts.neg[0][0], (ZH_NEG_TITLES if zh else EN_NEG_TITLES)
    elif parts.pos and parts.neg:
        aspect, frames = parts.neg[0][0], (ZH_MIXED_TITLES if zh else EN_MIXED_TITLES)
    else:
        return rng.choice(ZH_TITLES[rating] if zh else EN_TITLES[rating])
    name = aspect.zh_name if zh else aspect.name
    return rng.choice(frames).format(a=name, A=_cap(name))


def write_review(rng: random.Random, subject: ReviewSubject, rating: int, language: str = "en") -> tuple[str, str]:
    """Return (title, text) of a review with `rating` stars in `language` ("en" or "zh")."""
    zh = language == "zh"
    plan = polarity_plan(rng, rating)
    parts = _parts(rng, plan, _pick_aspects(rng, subject, plan), zh)
    frames = _Frames(rng)
    body = _chinese_body(rng, frames, rating, parts) if zh else _english_body(rng, frames, rating, parts)

    opening: list[str] = []
    if rng.random() < 0.35:
        if zh:
            opening = [rng.choice(ZH_OPENINGS + (ZH_HAPPY_OPENINGS if rating >= 4 else ()))]
        else:
            frame = rng.choice(EN_OPENINGS + (EN_HAPPY_OPENINGS if rating >= 4 else ()))
            # clothes are cut for someone: a gift "for my partner" works for any of them
            relatives = ("partner",) if subject.category.path.startswith("Apparel") else EN_RELATIVES
            opening = [frame.format(this=subject.product_type.this_noun, weeks=rng.randint(2, 10),
                                    relative=rng.choice(relatives))]
    wish: list[str] = []
    if rng.random() < (0.3 if rating in (3, 4) else 0.12):
        if zh:
            wish = [rng.choice(ZH_WISH_FRAMES).format(w=rng.choice(subject.product_type.zh_wishes))]
        else:
            wish = [rng.choice(subject.product_type.wishes)]
    overall: list[str] = []
    if rng.random() < 0.6:
        sentence = rng.choice(ZH_OVERALL[rating] if zh else EN_OVERALL[rating]).format(it=subject.pronoun)
        overall = [sentence]
    lead_with_verdict = overall and rng.random() < 0.25  # some people start with the verdict
    sentences = overall + opening + body + wish if lead_with_verdict else opening + body + wish + overall
    text = ("" if zh else " ").join(sentences)
    return _title(rng, rating, parts, zh), text
