"""What retrieval hands to answering: a passage of the shop's knowledge with its scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """One retrieved passage (a `KnowledgeChunk`) and how it was found.

    `score` is the fused score the answerability gate reads (0-1, higher is stronger);
    `text_score` and `vector_score` are the two retrievers' own normalised scores (0 when a retriever
    did not return the passage).
    """

    chunk_id: int
    kind: str
    source_id: int
    product_id: int | None
    title: str
    text: str
    language: str
    score: float
    text_score: float = 0.0
    vector_score: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def citation(self, quote: str | None = None) -> dict[str, Any]:
        """The citation a reply carries: kind, source id, title, the quoted span."""
        return {
            "kind": self.kind,
            "id": self.source_id,
            "title": self.title,
            "quote": quote if quote is not None else self.text,
            "product": self.product_id,
            "score": round(self.score, 4),
        }
