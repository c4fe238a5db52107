"""Planning the demo reviews: who reviews which product, when and with how many stars (the words come
from `review_text`, agreeing with the stars and the product's strengths)."""

from __future__ import annotations

from datetime import datetime, timedelta

from .plan import PlannedReview, PlanState
from .review_text import ReviewSubject, write_review


def plan_reviews(shop: PlanState) -> None:
    """Most reviews come from buyers some days after the purchase; the rest from customers who
    bought elsewhere. Chinese-speaking customers write in Chinese (about 5% of reviews)."""
    rng = shop.rng
    target = shop.options.reviews
    if target == 0:
        return
    seen: set[tuple[int, int]] = set()
    lines = []
    for ci, pi, when in sorted(shop.purchases, key=lambda line: (line[2], line[0], line[1])):
        if (ci, pi) not in seen:  # the first purchase of a product is what a review follows
            seen.add((ci, pi))
            lines.append((ci, pi, when))
    rng.shuffle(lines)
    reviewed: set[tuple[int, int]] = set()
    verified_target = round(target * 0.88)
    for ci, pi, when in lines:
        if len(shop.reviews) >= verified_target:
            break
        written = when + timedelta(days=rng.uniform(2, 40), hours=rng.uniform(0, 12))
        if written >= shop.anchor:
            continue
        reviewed.add((ci, pi))
        _review(shop, ci, pi, written.replace(microsecond=0))

    # The rest, from customers without a recorded purchase; they also top up the Chinese share.
    zh_customers = [c.index for c in shop.customers if c.locale == "zh-CN"]
    zh_quota = max(1 if target >= 10 and zh_customers else 0, round(target * 0.05))
    zh_count = sum(1 for r in shop.reviews if r.language == "zh")
    indexes = [p.index for p in shop.products]
    weights = [p.popularity for p in shop.products]
    attempts = 0
    while len(shop.reviews) < target and attempts < target * 20:
        attempts += 1
        ci = rng.choice(zh_customers) if zh_count < zh_quota and zh_customers else rng.randrange(len(shop.customers))
        pi = rng.choices(indexes, weights)[0]
        if (ci, pi) in reviewed or (ci, pi) in seen:  # a buyer reviews after buying, not before
            continue
        customer, product = shop.customers[ci], shop.products[pi]
        low = max(customer.created_at, product.created_at, shop.start)
        high = min(shop.anchor, product.inactive_since or shop.anchor)
        if high - low < timedelta(days=1):
            continue
        reviewed.add((ci, pi))
        review = _review(shop, ci, pi, shop.time_on(low, high))
        if review.language == "zh":
            zh_count += 1


def _review(shop: PlanState, ci: int, pi: int, written: datetime) -> PlannedReview:
    rng = shop.rng
    customer, product = shop.customers[ci], shop.products[pi]
    score = product.quality + rng.gauss(0, 0.2) + customer.bias
    rating = 5 if score > 0.7 else 4 if score > 0.55 else 3 if score > 0.44 else 2 if score > 0.33 else 1
    language = "zh" if customer.locale == "zh-CN" else "en"
    subject = ReviewSubject(product.category, product.ptype, product.strengths)
    title, text = write_review(rng, subject, rating, language)
    review = PlannedReview(ci, pi, written, rating, language, title, text)
    shop.reviews.append(review)
    return review
