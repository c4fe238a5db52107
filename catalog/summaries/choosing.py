"""Best-of-n for one summary: each part (one aspect) is chosen among the candidates the model sampled for it.

A candidate is cleaned (markdown, a "Summary:" label and wrapping quotes removed; only its first sentence
kept: a part is one sentence) and checked: the grounding rules against its own part
(`grounding.part_grounding_failures`: any number, invented claims and aspects, first person, a copied quote,
its aspect not named, another part's aspect named, quantity words its count does not bear out, the wrong
polarity) and the text detectors of `inference.text_checks` (a sentence or a run of REPEAT_NGRAM words
repeated within the part or from an earlier part, stray characters, unbalanced quotes or brackets, a reading
grade over READING_GRADE_MAX). Among the candidates that pass, the most fluent (the model's own geometric-mean
token probability) is kept, the earliest on a tie; when none passes, the part is the template's sentence for
it (`template.template_part`). Either way the count comes from the insight (`template.with_count`); the
summary opens with the template's review count and rating (`template.opening`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inference.generation import Candidate
from inference.text_checks import reading_grade, repeated_runs, repeated_sentences, stray_characters, unbalanced

from .grounding import clean_output, part_grounding_failures
from .prompt import SummaryFacts, SummaryPart
from .template import opening, template_part, with_count

READING_GRADE_MAX = 12.0  # Flesch-Kincaid grade of one part's sentence
REPEAT_NGRAM = 6  # words said twice across the parts (the product's name may recur; six words is a repeat)
_FIRST_SENTENCE = re.compile(r"^.*?[.!?](?=\s|$)")


def clean(text: str) -> str:
    """A candidate as it would go into the summary: one line, cleaned, its first sentence only (a sentence
    cut by the token limit stays as it is and fails as unfinished)."""
    text = clean_output(text.strip().splitlines()[0] if text.strip() else "")
    first = _FIRST_SENTENCE.match(text)
    return first.group(0).strip() if first else text


def repeated_words(texts: Sequence[str], title: str) -> list[str]:
    """Runs of REPEAT_NGRAM words said twice across `texts`; the product's name may recur (it is six words or
    more at times), so it is read as "it"."""
    name = re.compile(re.escape(title), re.I) if title else None
    return repeated_runs([name.sub("it", t) if name else t for t in texts], REPEAT_NGRAM)


def candidate_failures(
    text: str, part: SummaryPart, facts: SummaryFacts, earlier: Sequence[str] = ()
) -> list[str]:
    """Why `text` may not be `part` of the summary whose earlier parts are `earlier` (empty: it passes)."""
    if not text:
        return ["empty"]
    failures = part_grounding_failures(text, part, facts)
    failures += [f"repeated sentence: {s}" for s in repeated_sentences([*earlier, text])]
    failures += [f"repeated words: {run}" for run in repeated_words([*earlier, text], facts.title)]
    failures += [f"stray character: {c}" for c in stray_characters(text, latin_only=True)]
    failures += [f"unbalanced: {problem}" for problem in unbalanced(text)]
    grade = reading_grade(text)
    if grade is not None and grade > READING_GRADE_MAX:
        failures.append(f"reading grade {grade:g} over {READING_GRADE_MAX:g}")
    return failures


@dataclass
class Judged:
    """One sampled candidate, cleaned, with its fluency and what failed."""

    text: str
    fluency: float
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def record(self) -> dict[str, Any]:
        return {"text": self.text, "fluency": round(self.fluency, 3), "failed": self.failures}


@dataclass
class PartChoice:
    """One part of a summary: its judged candidates and the chosen one (-1: the template's sentence); `text`
    is the sentence as the summary shows it, with the insight's count."""

    part: SummaryPart
    candidates: list[Judged]
    chosen: int
    text: str

    @property
    def fallback(self) -> bool:
        return self.chosen < 0

    @property
    def failed_candidates(self) -> int:
        return sum(not c.passed for c in self.candidates)

    def record(self) -> dict[str, Any]:
        return {"part": self.part.key, "kind": self.part.kind, "aspect": self.part.aspect, "count": self.part.count,
                "chosen": self.chosen, "text": self.text,
                "candidates": [c.record() for c in self.candidates]}


@dataclass
class Written:
    """A summary made of its parts, in order; `text` joins the opening and them."""

    text: str
    parts: list[PartChoice]

    @property
    def generated(self) -> bool:
        """Some part is the model's (not every part fell back to the template)."""
        return any(not p.fallback for p in self.parts)

    @property
    def fallback_parts(self) -> int:
        return sum(p.fallback for p in self.parts)

    @property
    def chosen_not_first(self) -> int:
        return sum(p.chosen > 0 for p in self.parts)


def choose_part(
    part: SummaryPart, candidates: Sequence[Candidate], facts: SummaryFacts, earlier: Sequence[str] = ()
) -> PartChoice:
    """The passing candidate with the highest fluency (the earliest on a tie), else the template's sentence;
    with the insight's count either way."""
    judged = []
    for candidate in candidates:
        text = clean(candidate.text)
        judged.append(Judged(text, candidate.fluency, candidate_failures(text, part, facts, earlier)))
    passing = [i for i, row in enumerate(judged) if row.passed]
    if not passing:
        return PartChoice(part, judged, -1, template_part(facts, part))
    chosen = max(passing, key=lambda i: (judged[i].fluency, -i))
    return PartChoice(part, judged, chosen, with_count(judged[chosen].text, part, facts.review_count))


def write_summary(
    facts: SummaryFacts, parts: Sequence[SummaryPart], samples: Mapping[str, Sequence[Candidate]]
) -> Written:
    """Choose every part in order (each checked against the parts chosen before it), by part key in
    `samples`, and join them after the template's opening."""
    chosen: list[PartChoice] = []
    for part in parts:
        chosen.append(choose_part(part, samples.get(part.key, ()), facts, [c.text for c in chosen]))
    return Written(" ".join([opening(facts), *(c.text for c in chosen if c.text)]), chosen)
