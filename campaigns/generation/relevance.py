"""How on-topic each variant is: the cosine between the embedding of its copy and of a reference text (the
product and the segment), stored as `Variant.relevance` so a reviewer can sort by it. A missing embedding
model leaves it empty rather than failing generation."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from catalog.models import ProductInsight
from inference import registry  # light: the model loads on the first `embedder()` call
from inference.loading import ModelNotAvailable

from ..models import Campaign
from .planning import Group

logger = logging.getLogger(__name__)


def reference_text(group: Group, campaign: Campaign, insight: ProductInsight | None) -> str:
    """What the copy of `group` should be about: the product (title, category, brand, its top praised
    aspects) or else the brief, and the segment's top categories and keywords."""
    parts: list[str] = []
    if group.product is not None:
        product = group.product
        parts += [product.title, " ".join(product.category_levels), product.brand]
        if insight is not None:
            praised = insight.praised_aspects or []
            parts += [str(row.get("aspect", "")) for row in praised[:3] if isinstance(row, dict)]
    else:
        parts.append(campaign.brief)
    if group.segment is not None:
        parts += [str(row[0]) for row in (group.segment.top_categories or [])[:3] if row]
        parts += [str(row[0]) for row in (group.segment.top_keywords or [])[:5] if row]
    return ". ".join(part for part in parts if part)


def relevance_scores(pairs: Sequence[tuple[str, str]]) -> list[float | None]:
    """Cosine similarity of each (copy, reference) pair with the embedding role; None without a model."""
    if not pairs:
        return []
    try:
        vectors = registry.embedder().encode([text for pair in pairs for text in pair])
    except (ModelNotAvailable, OSError) as exc:
        logger.warning("no relevance scores: the embedding model is not available (%s)", exc)
        return [None] * len(pairs)
    vectors = np.asarray(vectors, dtype=np.float32)
    scores: list[float | None] = []
    for index in range(len(pairs)):
        a, b = vectors[2 * index], vectors[2 * index + 1]
        norm = float(np.linalg.norm(a) * np.linalg.norm(b))
        scores.append(round(float(a @ b) / norm, 4) if norm else None)
    return scores
