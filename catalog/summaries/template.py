"""The deterministic fallback summary: plain sentences from the strongest facts, stored when no generator is
available or nothing the model wrote survives grounding (`summary_model` is then None)."""

from __future__ import annotations

from collections.abc import Sequence

from .prompt import SummaryFacts


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def template_summary(facts: SummaryFacts) -> str:
    """Plain sentences from the strongest facts: always true, never eloquent."""
    if facts.review_count == 0:
        return f"{facts.title} has no reviews yet."
    rating = f" with an average rating of {facts.rating_average:g} out of 5" if facts.rating_average is not None else ""
    noun = "review" if facts.review_count == 1 else "reviews"
    if facts.praised:
        first = f"Across {facts.review_count} {noun}{rating}, customers most often praise the " + _join(
            [name for name, _ in facts.praised]
        )
    else:
        first = f"{facts.title} has {facts.review_count} {noun}{rating}"
    sentences = [first + "."]
    if facts.pains:
        sentences.append(f"The most common complaints concern the {_join([name for name, _ in facts.pains[:2]])}.")
    if facts.needs:
        sentences.append(f"Some reviewers wish for {facts.needs[0][0]}.")
    return " ".join(sentences)
