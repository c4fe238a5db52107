"""Hand-made data for profile and segment tests: products with small deterministic embeddings written
directly (no model), events at chosen times, a fake query embedder."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from catalog.models import Product, ProductEmbedding
from customers.models import Customer, Event

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
_seq = itertools.count(1)


def basis(i: int, dim: int = 384) -> np.ndarray:
    vector = np.zeros(dim, dtype=np.float32)
    vector[i] = 1.0
    return vector


def fake_embed(texts: list[str]) -> np.ndarray:
    """A deterministic unit vector per text (hash-seeded), standing in for the embedder."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        vector = np.random.default_rng(seed).normal(size=384).astype(np.float32)
        rows.append(vector / np.linalg.norm(vector))
    return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


def product(vector: np.ndarray | None, **fields: Any) -> Product:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "sku": f"P-{n:05d}", "title": f"Thing {n}", "category": "Home > Kitchen", "brand": "Acme",
        "price": Decimal("10.00"),
    }
    item = Product.objects.create(**{**defaults, **fields})
    if vector is not None:
        ProductEmbedding.objects.create(product=item, embedding=vector, text_hash="test")
    return item


def customer(**fields: Any) -> Customer:
    n = next(_seq)
    return Customer.objects.create(**{"external_id": f"c-{n:05d}", **fields})


def event(who: Customer, type_: str, days_ago: float, item: Product | None = None, **fields: Any) -> Event:
    n = next(_seq)
    return Event.objects.create(
        external_id=f"e-{n:06d}", customer=who, product=item, type=type_,
        occurred_at=NOW - timedelta(days=days_ago), **fields,
    )


def purchase(who: Customer, item: Product, days_ago: float, order: str, value: str = "10.00") -> Event:
    return event(who, "purchase", days_ago, item, order_id=order, quantity=1, value=Decimal(value))
