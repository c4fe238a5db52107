"""The deterministic sentences: the opening (review count and rating, always the template's), one plain
sentence per part for a part none of whose sampled candidates passed the checks (`template_part`), and the
whole template summary, stored when no generator is available (`summary_model` is then None). Always true,
never eloquent: every number is the insight's."""

from __future__ import annotations

from .polarity import COMPLAINT, PRAISE
from .prompt import NEED, SummaryFacts, SummaryPart, counted, summary_parts, wish_phrase


def with_count(sentence: str, part: SummaryPart, review_count: int) -> str:
    """`sentence` with the part's count before its final punctuation: "... battery life (12 of 40 reviews)."."""
    count = counted(part, review_count)
    if not count:
        return sentence
    body, end = (sentence[:-1], sentence[-1]) if sentence and sentence[-1] in ".!?" else (sentence, ".")
    return f"{body.rstrip()} {count}{end}"


def template_part(facts: SummaryFacts, part: SummaryPart) -> str:
    """The template's sentence for one part, with its count: "Reviewers praise the battery life (12 of 40
    reviews).", "Reviewers complain about the ear cushions (8 of 40 reviews).", "Some reviewers wish for a
    carrying case (3 of 40 reviews)."."""
    if part.kind == PRAISE:
        sentence = f"Reviewers praise the {part.aspect}."
    elif part.kind == COMPLAINT:
        sentence = f"Reviewers complain about the {part.aspect}."
    elif part.kind == NEED:
        sentence = f"Some reviewers {wish_phrase(part.aspect)}."
    else:
        raise ValueError(f"unknown summary part kind {part.kind!r}")
    return with_count(sentence, part, facts.review_count)


def opening(facts: SummaryFacts) -> str:
    """The summary's first sentence: how many reviews, and the average rating when there is one."""
    if facts.review_count == 0:
        return f"{facts.title} has no reviews yet."
    noun = "review" if facts.review_count == 1 else "reviews"
    if facts.rating_average is None:
        return f"Based on {facts.review_count} {noun}."
    return f"Rated {facts.rating_average:g} out of 5 in {facts.review_count} {noun}."


def template_summary(facts: SummaryFacts) -> str:
    """The whole template summary: the opening, then every part's template sentence, in order."""
    return " ".join([opening(facts), *(template_part(facts, part) for part in summary_parts(facts))])
