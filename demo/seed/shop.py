"""The two entry points: `plan_shop` (the whole shop in memory) and `seed_shop` (plan it, then write it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from core.progress import NO_PROGRESS, Progress

from .customers import plan_customers
from .events import plan_events
from .knowledge import facts_from_plan, plan_questions, seed_missing_knowledge
from .options import SeedOptions, SeedReport
from .plan import PlanState, ShopPlan
from .products import plan_products
from .reviews import plan_reviews
from .writing import demo_data_exists, exists_message, planned_rows, write_shop


def plan_shop(options: SeedOptions) -> ShopPlan:
    """The whole demo shop, in memory and without touching the database. The planners run in this order
    (each draws from the one random generator, and later ones build on earlier rows)."""
    shop = PlanState(options)
    plan_products(shop)
    plan_customers(shop)
    plan_events(shop)
    plan_reviews(shop)
    questions = plan_questions(facts_from_plan(shop.products), options.seed, shop.anchor)  # own generators
    # a session that starts just before midnight may run past the anchor: the shop has not seen it yet
    events = [e for e in shop.events if e.occurred_at < shop.anchor]
    events.sort(key=lambda e: (e.occurred_at, e.seq))
    return ShopPlan(shop.products, shop.customers, events, shop.reviews, questions)


def seed_shop(options: SeedOptions, progress: Progress = NO_PROGRESS) -> SeedReport:
    """Create (or with `force`, replace) the demo shop. Returns counts of written rows.

    Progress: the total is every row to write, known once the plan is made; each written batch advances
    it and counts its rows by kind (products, customers, events, reviews, campaigns, the assistant's questions,
    articles and key). When demo data exists (and no `force`), nothing is written but the assistant's
    knowledge, if a shop seeded before the assistant lacks it.
    """
    started = time.monotonic()
    seed, anchor_text = options.seed, options.anchor_date.isoformat()
    if not options.force and demo_data_exists():
        # a demo shop seeded before the assistant existed still gets the assistant's knowledge
        added = seed_missing_knowledge(seed, _anchor(options), progress)
        return SeedReport(True, added, time.monotonic() - started, seed, anchor_text, exists_message())

    progress.stage("planning")
    plan = plan_shop(options)  # outside the transaction: no locks held while we compute
    progress.set_total(planned_rows(plan))
    counts = write_shop(plan, force=options.force, progress=progress)
    if counts is None:  # another seed finished while we were planning
        return SeedReport(True, {}, time.monotonic() - started, seed, anchor_text, exists_message())
    return SeedReport(False, counts, time.monotonic() - started, seed, anchor_text)


def _anchor(options: SeedOptions) -> datetime:
    day = options.anchor_date
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
