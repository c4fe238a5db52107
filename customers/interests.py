"""What a customer is interested in, in words: top categories (every level of the path), brands, and keywords
from their searches and the titles of the products they engaged with, weighted by the events' decayed
weights (the same weights as the profile vector, `customers/behaviour.py`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from catalog.models import Product

TOP_CATEGORIES = 10
TOP_BRANDS = 8
TOP_KEYWORDS = 15

_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]{2,}", re.UNICODE)
_STOP = {
    "and", "the", "for", "with", "from", "you", "your", "our", "set", "pack", "new", "size", "inch", "cm", "mm",
    "pcs", "piece", "pieces", "of", "in", "on", "to", "by", "or", "a", "an", "is", "it", "my", "me", "x",
}

ProductFacts = tuple[list[str], str, list[str]]
"""(category paths from the top level down, brand, title keywords)."""

# (customer, product, decayed weight) and (customer, normalised query, decayed weight)
ProductWeights = list[tuple[int, int, float]]
SearchWeights = list[tuple[int, str, float]]


def keywords(text: str) -> list[str]:
    """Lower-cased words of at least 3 letters, without stop words or numbers: what interests are named by."""
    # sklearn is heavy to import and only profile runs and segment labels need its stop words
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (w.lower().strip("'-") for w in _WORD.findall(text or ""))
    return [w for w in words if len(w) >= 3 and w not in _STOP and w not in ENGLISH_STOP_WORDS]


def load_product_facts(ids: Iterable[int], known: dict[int, ProductFacts]) -> None:
    """Add the facts of the products not yet in `known` (one query)."""
    missing = [pk for pk in set(ids) if pk not in known]
    for pk, title, category, brand in Product.objects.filter(pk__in=missing).values_list(
        "pk", "title", "category", "brand"
    ):
        levels = [part.strip() for part in category.split(">") if part.strip()]
        paths = [" > ".join(levels[: i + 1]) for i in range(len(levels))]
        known[pk] = (paths, brand.strip(), keywords(title))


def _top(weights: dict[str, float], total: float, limit: int) -> list[list[Any]]:
    # ties (a customer who only shops one leaf has every level at the same weight): the specific one first
    ranked = sorted(weights.items(), key=lambda item: (-round(item[1], 9), -item[0].count(">"), item[0]))[:limit]
    return [[name, round(weight / total, 4)] for name, weight in ranked if total > 0]


def interests(
    customer_ids: Sequence[int], products: ProductWeights, searches: SearchWeights, facts: dict[int, ProductFacts]
) -> dict[int, Any]:
    """Top categories (every level of the path), brands and keywords per customer, as shares of their
    decayed activity (category and brand shares of product events; keyword shares of all keyword mass)."""
    load_product_facts((p for _, p, _ in products), facts)
    categories: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    brands: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    words: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    totals: dict[int, float] = defaultdict(float)
    for cid, pid, weight in products:
        paths, brand, title_words = facts[pid]
        w = float(weight)
        totals[cid] += w
        for path in paths:
            categories[cid][path] += w
        if brand:
            brands[cid][brand] += w
        for word in set(title_words):
            words[cid][word] += w
    for cid, query, weight in searches:
        for word in set(keywords(query)):
            words[cid][word] += float(weight)
    result = {}
    for cid in customer_ids:
        word_total = sum(words[cid].values()) if cid in words else 0.0
        result[cid] = {
            "categories": _top(categories.get(cid, {}), totals.get(cid, 0.0), TOP_CATEGORIES),
            "brands": _top(brands.get(cid, {}), totals.get(cid, 0.0), TOP_BRANDS),
            "keywords": _top(words.get(cid, {}), word_total, TOP_KEYWORDS),
        }
    return result
