"""Chinese rated reviews for tests, written by the demo shop's review writer (no development data: a
newcomer has no ../shared)."""

from __future__ import annotations

import random

from demo.catalog_data import CATEGORIES
from demo.seed.review_text import ReviewSubject, write_review
from inference.sentiment.classifier import review_text

RATINGS = (1, 2, 4, 5, 5, 1, 2, 4, 5, 3)


def chinese_reviews(count: int, seed: int = 7, ratings: tuple[int, ...] = RATINGS) -> list[tuple[str, int]]:
    """(title + text, stars) pairs over every category and product type, ratings cycling `ratings`."""
    rng = random.Random(seed)
    subjects = [
        ReviewSubject(category, product_type, {name: rng.uniform(-1, 1) for name in product_type.aspects})
        for category in CATEGORIES
        for product_type in category.types
    ]
    reviews = []
    for i in range(count):
        stars = ratings[i % len(ratings)]
        title, text = write_review(rng, subjects[i % len(subjects)], stars, "zh")
        reviews.append((review_text(title, text), stars))
    return reviews
