"""Best-of-n: each part of each variant is chosen among the candidates the model sampled for it.

A candidate is judged by, in order:
1. the guardrails: every check of the message it would make (the template plus the parts chosen so far plus
   it; so a subject the paragraph repeats, or a paragraph that repeats the offer, fails), minus the checks
   only the whole message can answer (format, length, required text), plus the part's own limits (not empty,
   within its characters, whole sentences) and, for a paragraph or line, a floor on relevance. Candidates
   that pass come first; among those that fail, the ones with fewer failures.
2. a score: relevance (cosine between its embedding and the product and segment text) + FLUENCY_WEIGHT x
   fluency (the model's own geometric-mean token probability, length-normalised) + DISTINCT_WEIGHT x
   distinctness (1 - the highest cosine to the same part of the group's variants chosen before it, so an
   experiment's variants actually differ).
Without an embedding model, relevance and distinctness fall back to word overlap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import registry  # light: the model loads on the first `embedder()` call
from inference.generation import Candidate
from inference.loading import ModelNotAvailable

from .. import guardrails
from ..channels import Copy
from ..guardrails import GuardrailContext, Result
from .parts import Part

logger = logging.getLogger(__name__)

# Below this cosine to the product and segment a candidate is not about them ("Your product.", "Great product,
# gentle." scored 0.06-0.08; on-topic copy 0.6-0.85): it fails like a guardrail, so it is never chosen.
MIN_RELEVANCE = 0.3
FLUENCY_WEIGHT = 0.5
DISTINCT_WEIGHT = 0.5
WHOLE_MESSAGE_CHECKS = frozenset({"format", "length", "required_text"})
SHORT_PART_SKIPPED = frozenset({"language", "readability"})  # a subject or button has too few words to judge
_SENTENCE_END = ".!?…\"'”’)"


@dataclass
class Scored:
    """One candidate with its judgement."""

    text: str
    fluency: float
    relevance: float | None
    distinct: float
    failures: list[Result] = field(default_factory=list)
    repaired: bool = False  # sentences of a sampled candidate dropped (`writing._repair`)
    fallback: bool = False  # the template's text, used when no sampled candidate passed (the button)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def score(self) -> float:
        return (self.relevance or 0.0) + FLUENCY_WEIGHT * self.fluency + DISTINCT_WEIGHT * self.distinct

    def record(self) -> dict[str, Any]:
        """How the candidate is kept on the variant (`Variant.parts`), for the reviewer and the evaluation."""
        return {
            "text": self.text, "fluency": round(self.fluency, 3),
            "relevance": None if self.relevance is None else round(self.relevance, 3),
            "distinct": round(self.distinct, 3), "score": round(self.score, 3),
            "failed": [f"{row['check']}: {row['detail']}" for row in self.failures],
            **({"repaired": True} if self.repaired else {}),
            **({"fallback": True} if self.fallback else {}),
        }


def part_failures(text: str, part: Part, message: Copy, context: GuardrailContext) -> list[Result]:
    """What is wrong with `text` as `part` of `message` (the message it would make, template included)."""
    own: list[Result] = []
    if not text:
        own.append({"check": "format", "passed": False, "detail": f"the {part.name} is empty"})
    elif len(text) > part.max_chars:
        own.append({"check": "length", "passed": False,
                    "detail": f"the {part.name} is {len(text)} characters, over its {part.max_chars}"})
    elif part.sentences and text[-1] not in _SENTENCE_END:
        own.append({"check": "format", "passed": False, "detail": f"the {part.name} stops mid-sentence"})
    skipped = WHOLE_MESSAGE_CHECKS | (SHORT_PART_SKIPPED if not part.sentences or part.field != "body" else set())
    return own + [
        row for row in guardrails.failures(guardrails.check_copy(message, context)) if row["check"] not in skipped
    ]


def best(scored: Sequence[Scored]) -> int:
    """Index of the candidate to keep: passing before failing (fewer failures first), then the highest score,
    then the earliest."""
    return min(range(len(scored)), key=lambda i: (len(scored[i].failures), -scored[i].score, i))


class Similarity:
    """Cosines between texts, from one embedding call for all of a round's candidates (word overlap without
    an embedding model)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.index = {text: i for i, text in enumerate(dict.fromkeys(texts))}
        self.vectors: np.ndarray | None = None
        if not self.index:
            return
        try:
            vectors = np.asarray(registry.embedder().encode(list(self.index)), dtype=np.float32)
        except (ModelNotAvailable, OSError) as exc:
            logger.warning("best-of-n without embeddings (word overlap instead): %s", exc)
            return
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.where(norms == 0, 1, norms)

    def __call__(self, a: str, b: str) -> float:
        if self.vectors is not None and a in self.index and b in self.index:
            return float(self.vectors[self.index[a]] @ self.vectors[self.index[b]])
        words_a, words_b = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
        return len(words_a & words_b) / len(words_a | words_b) if words_a | words_b else 0.0

    @property
    def semantic(self) -> bool:
        return self.vectors is not None


def score_candidates(
    candidates: Sequence[Candidate], texts: Sequence[str], part: Part, messages: Sequence[Copy],
    context: GuardrailContext, similarity: Similarity, reference: str, siblings: Sequence[str],
) -> list[Scored]:
    """Each candidate (its cleaned text in `texts`, the message it would make in `messages`) judged; `siblings`
    are the same part of the group's variants already chosen."""
    scored = []
    for candidate, text, message in zip(candidates, texts, messages, strict=True):
        closest = max((similarity(text, other) for other in siblings if other), default=0.0)
        relevance = similarity(text, reference) if text and similarity.semantic else None
        failures = part_failures(text, part, message, context)
        if candidate.cut_off and not part.sentences:  # a title or button the token limit cut ("… 50 ml, S")
            failures.insert(0, {"check": "format", "passed": False,
                                "detail": f"the {part.name} was cut off by the token limit"})
        if relevance is not None and relevance < MIN_RELEVANCE and part.name in ("paragraph", "line"):
            failures.append({"check": "relevance", "passed": False,
                             "detail": f"not about the product or audience (cosine {relevance:.2f}, at least "
                                       f"{MIN_RELEVANCE} needed)"})
        scored.append(Scored(text=text, fluency=candidate.fluency, relevance=relevance,
                             distinct=1.0 - max(0.0, closest), failures=failures))
    return scored
