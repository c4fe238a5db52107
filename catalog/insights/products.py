"""Product insight: what reviewers say about each product, aggregated from its review insights.

Rating and sentiment distributions and their monthly trend, praised aspects and pain points, topics and
needs. A product is aggregated again only when the insights of its reviews changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress

from ..models import Product, ProductInsight, ReviewInsight, Sentiment
from .aspects import aspect_summary, product_nouns
from .needs import needs_summary
from .scoring import review_text
from .topics import topics_from_embeddings


def _monthly(rows: Sequence[tuple[Any, int | None, str]]) -> list[dict[str, Any]]:
    buckets: dict[str, dict[str, Any]] = {}
    for created, rating, sentiment in rows:
        month = created.strftime("%Y-%m")
        bucket = buckets.setdefault(
            month, {"month": month, "reviews": 0, "ratings": [], "positive": 0, "neutral": 0, "negative": 0}
        )
        bucket["reviews"] += 1
        if rating:
            bucket["ratings"].append(rating)
        if sentiment in (Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE):
            bucket[str(sentiment)] += 1
    result = []
    for month in sorted(buckets):
        bucket = buckets[month]
        ratings = bucket.pop("ratings")
        bucket["rating_average"] = round(sum(ratings) / len(ratings), 2) if ratings else None
        result.append(bucket)
    return result


def compute_product_insights(
    product_ids: Iterable[int] | None = None,
    *,
    progress: Progress = NO_PROGRESS,
    force: bool = False,
) -> dict[str, int]:
    """Aggregate review insights per product; skip products whose inputs did not change."""
    queryset = Product.objects.filter(reviews__insight__isnull=False).distinct().order_by("pk")
    if product_ids is not None:
        queryset = queryset.filter(pk__in=list(product_ids))
    ids = list(queryset.values_list("pk", flat=True))
    progress.set_total(len(ids))
    counts = {"computed": 0, "unchanged": 0}
    for product_id in ids:
        counts["computed" if compute_product_insight(product_id, force=force) else "unchanged"] += 1
        progress.advance()
    return counts


def compute_product_insight(product_id: int, *, force: bool = False) -> bool:
    rows = list(
        ReviewInsight.objects.filter(review__product_id=product_id)
        .order_by("review_id")
        .values_list(
            "review_id",
            "review__title",
            "review__text",
            "review__rating",
            "review__created_at",
            "sentiment",
            "polarity",
            "aspects",
            "text_hash",
            "embedding",
        )
    )
    source_hash = hashlib.sha256(json.dumps([(r[0], r[8]) for r in rows]).encode()).hexdigest()
    current = ProductInsight.objects.filter(product_id=product_id).first()
    if current is not None and current.source_hash == source_hash and not force:
        return False
    texts = [review_text(r[1], r[2]) for r in rows]
    ratings = [r[3] for r in rows if r[3]]
    item = Product.objects.only("title", "category").get(pk=product_id)
    itself = product_nouns(item.title, item.category)  # "these headphones" is no aspect of headphones
    praised, pains = aspect_summary([(r[0], texts[i], r[7] or [], r[6]) for i, r in enumerate(rows)], product=itself)
    with_embeddings = [i for i, r in enumerate(rows) if r[9] is not None]
    topics = (
        topics_from_embeddings(
            [texts[i] for i in with_embeddings], np.array([rows[i][9] for i in with_embeddings], dtype=np.float32)
        )
        if with_embeddings
        else []
    )
    values = {
        "review_count": len(rows),
        "rating_average": round(sum(ratings) / len(ratings), 3) if ratings else None,
        "rating_distribution": {str(star): sum(1 for r in ratings if r == star) for star in range(1, 6)},
        "sentiment_distribution": dict(Counter(r[5] for r in rows if r[5])),
        "sentiment_over_time": _monthly([(r[4], r[3], r[5]) for r in rows]),
        "praised_aspects": praised,
        "pain_points": pains,
        "topics": topics,
        "needs": needs_summary([(r[0], texts[i]) for i, r in enumerate(rows)], aspects=[r[7] or [] for r in rows]),
        "source_hash": source_hash,
        "computed_at": timezone.now(),
    }
    ProductInsight.objects.update_or_create(product_id=product_id, defaults=values)
    return True
