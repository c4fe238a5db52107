"""The demo shop's knowledge for the customer-service assistant: product questions and answers made from
each product's attributes, the help articles of `demo.assistant_data`, and a publishable key for the demo
storefront page.

Each product's questions come from a random generator seeded with the shop's seed and the product's SKU,
so they are the same whatever the shop's size and whether they are planned with the shop or later from
the products already in the database (a demo seeded before the assistant existed gets them on the next
run). About 5% are asked in Chinese. Writes are bulk upserts by key (`demo-q-...`, article titles, the
demo key), without save signals: the demo pipeline's `index_knowledge` job indexes them afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from assistant.models import Article, ProductQuestion, PublishableKey
from catalog.models import Product
from core.progress import NO_PROGRESS, Progress

from .. import assistant_data as data
from .options import SKU_PREFIX
from .plan import PlannedProduct, PlannedQuestion

QUESTION_PREFIX = "demo-q-"
QUESTION_SOURCE = "demo"
# the chance a question on an attribute with a Chinese template is asked in Chinese: about 5% of all questions
CHINESE_CHANCE = 0.3
PER_PRODUCT = (1, 2, 2, 2, 3)  # questions per product, drawn uniformly: about 2 on average


@dataclass(frozen=True)
class ProductFacts:
    """What a product's questions are made from (a planned product or a stored one)."""

    sku: str
    title: str
    brand: str
    category: str
    attributes: Mapping[str, Any]
    created_at: datetime


def plan_questions(products: Iterable[ProductFacts], seed: int, anchor: datetime) -> list[PlannedQuestion]:
    """One to three questions a product's shoppers ask, each answered from the product's attributes (or,
    for shop questions such as returns, with the policy the articles state)."""
    planned: list[PlannedQuestion] = []
    for facts in products:
        rng = random.Random(f"{seed}:questions:{facts.sku}")
        candidates = _candidates(facts)
        if not candidates:
            continue
        chosen = rng.sample(candidates, min(rng.choice(PER_PRODUCT), len(candidates)))
        for n, (key, template) in enumerate(chosen, start=1):
            question, answer, language = _written(rng, facts, key, template)
            span = max(60.0, (anchor - facts.created_at).total_seconds())
            asked = facts.created_at + timedelta(seconds=int(span * (0.1 + 0.85 * rng.random())))
            planned.append(
                PlannedQuestion(f"{QUESTION_PREFIX}{facts.sku}-{n}", facts.sku, question, answer, language, asked)
            )
    return planned


def _candidates(facts: ProductFacts) -> list[tuple[str, Any]]:
    """(attribute or "shop", template) pairs this product can answer, in a stable order."""
    found: list[tuple[str, Any]] = [
        (key, data.QA_BY_ATTRIBUTE[key]) for key in sorted(facts.attributes) if key in data.QA_BY_ATTRIBUTE
    ]
    for prefix, pairs in data.QA_BY_CATEGORY.items():
        if facts.category.startswith(prefix):
            found.extend(("shop", pair) for pair in pairs)
    return found


def _written(rng: random.Random, facts: ProductFacts, key: str, template: Any) -> tuple[str, str, str]:
    if key == "shop":
        question, answer = template
        return question, answer, "en"
    context = _context(facts)
    if key in data.QA_BY_ATTRIBUTE_ZH and rng.random() < CHINESE_CHANCE:
        question, answer = data.QA_BY_ATTRIBUTE_ZH[key]
        return question, answer.format_map(context), "zh"
    questions, answers = template
    return rng.choice(questions), rng.choice(answers).format_map(context), "en"


def _context(facts: ProductFacts) -> dict[str, Any]:
    """The attributes, and the phrases a few answers need (lists joined, counts in words)."""
    attrs = dict(facts.attributes)
    sizes = attrs.get("sizes")
    ports, persons = attrs.get("ports"), attrs.get("persons")
    skin, ph = str(attrs.get("skin", "")), str(attrs.get("ph", ""))
    return {
        **attrs,
        "title": facts.title,
        "brand": facts.brand,
        "sizes_text": f"{sizes[0]} to {sizes[-1]}" if isinstance(sizes, list) and sizes else str(sizes),
        "ports_text": _count(ports, "USB-C port"),
        "persons_text": _count(persons, "person", "people"),
        "skin_text": "all skin types" if skin == "all" else f"{skin} skin",
        "ph_text": "It is a low-pH cleanser." if ph == "low" else f"It has a pH of {ph}.",
    }


def _count(value: Any, noun: str, plural: str | None = None) -> str:
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    n = int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
    return f"{words.get(n, n)} {noun if n == 1 else plural or noun + 's'}"


def facts_from_plan(products: Sequence[PlannedProduct]) -> list[ProductFacts]:
    return [ProductFacts(p.sku, p.title, p.brand, p.category.path, p.attributes, p.created_at) for p in products]


def facts_from_rows(products: Sequence[Product]) -> list[ProductFacts]:
    return [
        ProductFacts(p.sku, p.title, p.brand, p.category, p.attributes or {}, p.created_at) for p in products
    ]


# --- writing ----------------------------------------------------------------------------------------------


def knowledge_rows(questions: Sequence[PlannedQuestion]) -> int:
    """What writing the knowledge writes (for the seed's progress total)."""
    return len(questions) + len(data.ARTICLES) + 1


def write_knowledge(
    questions: Sequence[PlannedQuestion], *, delete_stale: bool, progress: Progress = NO_PROGRESS
) -> dict[str, int]:
    """Upsert the demo questions (by key), the articles (by title and language) and the demo key, inside the
    caller's transaction; with `delete_stale`, demo questions the plan no longer has go."""
    progress.stage("writing assistant knowledge")
    products = dict(Product.objects.filter(sku__in={q.sku for q in questions}).values_list("sku", "pk"))
    rows = [
        ProductQuestion(
            external_id=q.external_id, product_id=products[q.sku], question=q.question, answer=q.answer,
            language=q.language, source=QUESTION_SOURCE, created_at=q.created_at,
        )
        for q in questions if q.sku in products
    ]
    fields = ["product", "question", "answer", "language", "source", "created_at", "updated_at"]
    for start in range(0, len(rows), 2000):
        ProductQuestion.objects.bulk_create(
            rows[start : start + 2000], update_conflicts=True, unique_fields=["external_id"], update_fields=fields
        )
    progress.advance(len(rows), questions=len(rows))
    stale = 0
    if delete_stale:
        keep = {row.external_id for row in rows}
        old = ProductQuestion.objects.filter(external_id__startswith=QUESTION_PREFIX).exclude(external_id__in=keep)
        stale = old.delete()[1].get(ProductQuestion._meta.label, 0)
    articles = _write_articles()
    progress.advance(articles, articles=articles)
    _write_key()
    progress.advance(1, publishable_keys=1)
    return {"questions": len(rows), "questions_zh": sum(r.language == "zh" for r in rows), "articles": articles,
            "publishable_keys": 1, "questions_stale_deleted": stale}


def _write_articles() -> int:
    """The help articles, matched by title and language (no save signals: the pipeline indexes them); an
    article a manager unpublished stays unpublished."""
    existing = {(a.title, a.language): a for a in Article.objects.filter(title__in=[s["title"] for s in data.ARTICLES])}
    new = []
    for spec in data.ARTICLES:
        article = existing.get((spec["title"], spec["language"]))
        if article is None:
            new.append(Article(is_published=True, **spec))
        else:
            Article.objects.filter(pk=article.pk).update(body=spec["body"], topic=spec["topic"])
    Article.objects.bulk_create(new)
    return len(data.ARTICLES)


def _write_key() -> PublishableKey:
    key, _ = PublishableKey.objects.get_or_create(
        key=data.DEMO_KEY,
        defaults={
            "name": data.DEMO_KEY_NAME, "site": data.DEMO_KEY_SITE, "allowed_origins": list(data.DEMO_KEY_ORIGINS),
        },
    )
    return key


def allow_demo_origin(origin: str) -> None:
    """Let the demo key be used from `origin` too (the launcher's host and port)."""
    with transaction.atomic():
        key = PublishableKey.objects.select_for_update().filter(key=data.DEMO_KEY).first()
        if key is not None and origin not in key.allowed_origins:
            key.allowed_origins = [*key.allowed_origins, origin]
            key.save(update_fields=["allowed_origins"])


def demo_knowledge_exists() -> bool:
    return PublishableKey.objects.filter(key=data.DEMO_KEY).exists()


def seed_missing_knowledge(seed: int, anchor: datetime, progress: Progress = NO_PROGRESS) -> dict[str, int]:
    """For a demo shop seeded before the assistant: its knowledge, from the demo products in the database."""
    if demo_knowledge_exists():
        return {}
    products = list(Product.objects.filter(sku__startswith=SKU_PREFIX).order_by("sku"))
    questions = plan_questions(facts_from_rows(products), seed, anchor)
    with transaction.atomic():
        return write_knowledge(questions, delete_stale=False, progress=progress)
