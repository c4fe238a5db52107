"""A small real knowledge base for retrieval tests: three products' passages, a returns article and a Chinese
passage, embedded with the real embedder (vectors cached per process: each test writes its own rows)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from assistant.models import KnowledgeChunk, SourceKind
from assistant.tokens import search_text
from catalog.models import Product
from inference import registry
from tests.catalog.builders import product

PASSAGES: dict[str, list[tuple[str, str]]] = {
    "kettle": [
        ("Cord length", "Q: How long is the power cord? A: The power cord is 75 cm long and wraps under the base."),
        ("Capacity", "Q: How much water does it hold? A: The kettle holds 1.7 litres, about seven cups."),
        ("Boil time", "Q: How fast does it boil? A: A full kettle boils in about four minutes at 2200 watts."),
        ("保修", "问：这个水壶保修多久？答：本水壶保修两年，期间免费维修或更换。"),
    ],
    "vacuum": [
        ("Battery", "Q: How long does the battery last? A: The battery runs for 40 minutes on the eco setting."),
        ("Pet hair", "Q: Is it good with pet hair? A: Yes, the motorised brush picks up dog and cat hair from rugs."),
        ("Filter", "Q: Is the filter washable? A: The HEPA filter can be rinsed under cold water once a month."),
    ],
    "grinder": [
        ("Grind settings", "Q: How many grind settings? A: There are 18 settings from espresso fine to coarse."),
        ("Noise", "Q: Is it loud? A: It is quieter than blade grinders, around 70 decibels while grinding."),
        ("Cleaning", "Q: How do I clean the burrs? A: Remove the upper burr and brush away the old coffee grounds."),
    ],
}
ARTICLE = ("Returns", "You can return any item within 30 days of delivery for a full refund; the return label is free.")


@cache
def _vectors(texts: tuple[str, ...]) -> np.ndarray:
    return np.asarray(registry.embedder().encode(list(texts)), dtype=np.float32)


@dataclass
class KnowledgeBase:
    products: dict[str, Product]
    chunks: dict[str, KnowledgeChunk]  # by title


def knowledge_base() -> KnowledgeBase:
    """The passages as KnowledgeChunk rows (questions of each product, the article with no product)."""
    products = {name: product(title=name.title()) for name in PASSAGES}
    rows: list[tuple[str, str, Product | None, str]] = [
        (title, text, products[name], SourceKind.QUESTION) for name, items in PASSAGES.items() for title, text in items
    ]
    rows.append((ARTICLE[0], ARTICLE[1], None, SourceKind.ARTICLE))
    vectors = _vectors(tuple(f"{title}\n{text}" for title, text, _, _ in rows))
    chunks = {}
    for i, ((title, text, owner, kind), vector) in enumerate(zip(rows, vectors, strict=True)):
        language = "zh" if title == "保修" else "en"
        chunks[title] = KnowledgeChunk.objects.create(
            kind=kind, source_id=1000 + i, position=0, product=owner, title=title, text=text, language=language,
            search_text=search_text(f"{title}\n{text}", language), embedding=vector, embedding_model="test",
            text_hash=f"h{i}",
        )
    return KnowledgeBase(products, chunks)
