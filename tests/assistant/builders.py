"""Builders for the assistant's knowledge: product questions, articles and indexed chunks. Each call makes one
valid, distinct object (a counter keeps keys unique); keyword arguments override any field. Products come
from tests/catalog/builders.py."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from assistant.models import Article, KnowledgeChunk, ProductQuestion, SourceKind
from assistant.tokens import search_text
from tests.catalog.builders import product as make_product

_seq = itertools.count(1)

__all__ = ["make_article", "make_chunk", "make_product", "make_product_question"]


def make_product_question(**fields: Any) -> ProductQuestion:
    """An answered question with a unique external id, about a new product unless `product` is given."""
    n = next(_seq)
    defaults: dict[str, Any] = {
        "external_id": f"q-{n:05d}", "question": f"Does product {n} come with a charger?",
        "answer": f"Yes, product {n} ships with a USB-C charger.", "language": "en", "source": "test",
    }
    if "product" not in fields:
        defaults["product"] = make_product()
    return ProductQuestion.objects.create(**{**defaults, **fields})


def make_article(**fields: Any) -> Article:
    """A published delivery article with two sections."""
    n = next(_seq)
    defaults: dict[str, Any] = {
        "title": f"Delivery {n}", "topic": "delivery", "language": "en", "is_published": True,
        "body": (
            "We ship from our warehouse every weekday.\n\n"
            "## Delivery times\n\nOrders arrive in **2 to 4 working days** within the country.\n\n"
            "## Costs\n\nDelivery is free above 50 EUR; below that it costs 4.90 EUR.\n"
        ),
    }
    return Article.objects.create(**{**defaults, **fields})


def make_chunk(*, embedding: np.ndarray | list[float] | None = None, **fields: Any) -> KnowledgeChunk:
    """An indexed passage written directly (no model): an article passage unless `kind`/`product` say
    otherwise. `search_text` is derived from the title and text as the indexer derives it; the embedding is
    a unit vector along one axis unless given."""
    n = next(_seq)
    defaults: dict[str, Any] = {
        "kind": SourceKind.ARTICLE, "source_id": n, "position": 0, "title": f"Passage {n}",
        "text": f"Passage {n} about delivery.", "language": "en", "text_hash": f"hash-{n}",
        "embedding_model": "test",
    }
    values = {**defaults, **fields}
    if embedding is None:
        vector = np.zeros(384, dtype=np.float32)
        vector[n % 384] = 1.0
        embedding = vector
    values.setdefault("search_text", search_text(f"{values['title']}\n{values['text']}", values["language"]))
    return KnowledgeChunk.objects.create(embedding=embedding, **values)
