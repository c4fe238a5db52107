"""The deterministic fallback: plain sentences from the strongest facts, per part (`template_part`, used
for a part none of whose sampled candidates passed the checks) or whole (`template_summary`, stored when no
generator is available; `summary_model` is then None)."""

from __future__ import annotations

from collections.abc import Sequence

from .prompt import COMPLAINTS, PRAISE, SummaryFacts


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def template_part(facts: SummaryFacts, part: str) -> str:
    """The template's text for one part: always true, never eloquent. PRAISE names the review count, rating
    and praised aspects; COMPLAINTS the two most common pain points and the first need."""
    if part == PRAISE:
        rating = (f" with an average rating of {facts.rating_average:g} out of 5"
                  if facts.rating_average is not None else "")
        noun = "review" if facts.review_count == 1 else "reviews"
        if facts.praised:
            return f"Across {facts.review_count} {noun}{rating}, customers most often praise the " + _join(
                [name for name, _ in facts.praised]
            ) + "."
        return f"{facts.title} has {facts.review_count} {noun}{rating}."
    if part == COMPLAINTS:
        sentences = []
        if facts.pains:
            sentences.append(f"The most common complaints concern the {_join([n for n, _ in facts.pains[:2]])}.")
        if facts.needs:
            sentences.append(f"Some reviewers wish for {facts.needs[0][0]}.")
        return " ".join(sentences)
    raise ValueError(f"unknown summary part {part!r}")


def template_summary(facts: SummaryFacts) -> str:
    """The whole template summary: every part's template text, in order."""
    if facts.review_count == 0:
        return f"{facts.title} has no reviews yet."
    return " ".join(text for text in (template_part(facts, part) for part in (PRAISE, COMPLAINTS)) if text)
