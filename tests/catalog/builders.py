"""Builders for the catalog: products, reviews, their insights and model versions. Each call makes one valid,
distinct object (a counter keeps keys unique); keyword arguments override any field."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import numpy as np

from catalog.models import ModelVersion, Product, ProductEmbedding, ProductInsight, Review, ReviewInsight

_seq = itertools.count(1)


def product(*, embedding: np.ndarray | list[float] | None = None, **fields: Any) -> Product:
    """A product with a unique SKU; with `embedding`, also its embedding row (written directly, no model)."""
    n = next(_seq)
    defaults: dict[str, Any] = {
        "sku": f"SKU-{n:05d}", "title": f"Product {n}", "category": "Home > Kitchen", "brand": "Acme",
        "price": Decimal("10.00"),
    }
    item = Product.objects.create(**{**defaults, **fields})
    if embedding is not None:
        ProductEmbedding.objects.create(product=item, embedding=embedding, text_hash="test")
    return item


def review(**fields: Any) -> Review:
    """A 4-star review with a unique external id, of a new product unless `product` is given."""
    n = next(_seq)
    defaults: dict[str, Any] = {"external_id": f"rev-{n:05d}", "rating": 4, "text": f"Review {n}."}
    if "product" not in fields:
        defaults["product"] = product()
    return Review.objects.create(**{**defaults, **fields})


def review_insight(review: Review, **fields: Any) -> ReviewInsight:
    """What the models read in `review` (hand-made: no model runs)."""
    return ReviewInsight.objects.create(**{"review": review, "text_hash": f"hash-{review.pk}", **fields})


def product_insight(product: Product, **fields: Any) -> ProductInsight:
    """The aggregated insight of `product` (hand-made: no analysis runs)."""
    return ProductInsight.objects.create(product=product, **fields)


def model_version(**fields: Any) -> ModelVersion:
    """An inactive sentiment model version with a unique name."""
    n = next(_seq)
    return ModelVersion.objects.create(**{"role": "sentiment", "name": f"model-{n}", **fields})
