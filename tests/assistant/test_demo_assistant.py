"""The demo shop's knowledge for the assistant: help articles with concrete policies, product questions
answered from each product's own attributes (deterministic with the seed), a publishable key for the demo
page, and the pipeline step that indexes them."""

from __future__ import annotations

import re
from datetime import date

import pytest

from assistant.models import Article, ProductQuestion, PublishableKey
from demo import assistant_data
from demo.launcher import MODEL_STEPS, launch_plan
from demo.seed import SeedOptions, plan_shop, seed_shop
from demo.seed.knowledge import QUESTION_PREFIX, allow_demo_origin

ANCHOR = date(2025, 6, 30)
TINY = {"products": 20, "customers": 30, "events": 300, "reviews": 50}
SMALL = {"products": 60, "customers": 200, "events": 4000, "reviews": 300}
TOPICS = {"delivery", "returns", "warranty", "sizing", "payment"}


def _options(sizes: dict[str, int], *, seed: int = 42, force: bool = False) -> SeedOptions:
    return SeedOptions(seed=seed, anchor=ANCHOR, force=force, **sizes)


def _questions() -> list[tuple[str, str, str, str, str]]:
    rows = ProductQuestion.objects.filter(external_id__startswith=QUESTION_PREFIX).order_by("external_id")
    return list(rows.values_list("external_id", "product__sku", "question", "answer", "language"))


def test_articles_cover_the_topics_with_sections_and_concrete_numbers() -> None:
    english = [a for a in assistant_data.ARTICLES if a["language"] == "en"]
    assert {a["topic"] for a in english} >= TOPICS
    for article in english:
        assert article["body"].count("\n## ") >= 2, article["title"]
        assert re.search(r"\d", article["body"]), article["title"]
    returns = next(a for a in english if a["topic"] == "returns")["body"]
    assert "30 days" in returns and "5 working days" in returns
    assert any(a["language"] == "zh" for a in assistant_data.ARTICLES)


def test_the_plan_has_a_few_questions_per_product_and_is_deterministic() -> None:
    plan = plan_shop(_options(SMALL))
    again = plan_shop(_options(SMALL))
    assert plan.questions == again.questions
    assert plan_shop(_options(SMALL, seed=7)).questions != plan.questions
    per_product = {p.sku: 0 for p in plan.products}
    for question in plan.questions:
        per_product[question.sku] += 1
    assert all(1 <= n <= 3 for n in per_product.values())
    assert 1.5 * len(plan.products) <= len(plan.questions) <= 3 * len(plan.products)
    assert len({q.external_id for q in plan.questions}) == len(plan.questions)
    assert 0 < sum(q.language == "zh" for q in plan.questions) < 0.15 * len(plan.questions)
    # a product's questions do not depend on the size of the shop
    tiny = plan_shop(_options(TINY))
    first = {q.external_id: q for q in plan.questions}
    assert all(first[q.external_id] == q for q in tiny.questions if q.sku == "DEMO-00001")


def test_every_answer_is_true_of_its_product_or_the_shop_policy() -> None:
    """Each number an answer states is one of its product's attributes or a policy the articles state."""
    plan = plan_shop(_options(SMALL))
    products = {p.sku: p for p in plan.products}
    policies = " ".join(a["body"] for a in assistant_data.ARTICLES)
    for question in plan.questions:
        facts = " ".join(str(v) for v in products[question.sku].attributes.values())
        for number in re.findall(r"\d+(?:[.,]\d+)?", question.answer):
            assert number in facts or number in policies, (question.question, question.answer)
        assert "{" not in question.answer and "None" not in question.answer, question.answer


@pytest.mark.django_db
def test_seed_writes_questions_articles_and_a_key_deterministically() -> None:
    report = seed_shop(_options(TINY))
    assert report.counts["questions"] == ProductQuestion.objects.count() > 20
    assert report.counts["articles"] == Article.objects.count() == len(assistant_data.ARTICLES)
    assert set(ProductQuestion.objects.values_list("source", flat=True)) == {"demo"}
    assert Article.objects.filter(is_published=True).count() == len(assistant_data.ARTICLES)
    key = PublishableKey.objects.get()
    assert key.key == assistant_data.DEMO_KEY and key.is_active
    assert "http://127.0.0.1:8000" in key.allowed_origins
    first = _questions()

    again = seed_shop(_options(TINY, force=True))
    assert not again.skipped and _questions() == first
    assert Article.objects.count() == len(assistant_data.ARTICLES) and PublishableKey.objects.count() == 1

    smaller = seed_shop(_options({**TINY, "products": 12}, force=True))
    assert smaller.counts["questions_stale_deleted"] > 0
    assert {sku for _, sku, *_ in _questions()} <= {f"DEMO-{n:05d}" for n in range(1, 13)}


@pytest.mark.django_db
def test_a_shop_seeded_before_the_assistant_gets_the_same_knowledge_on_the_next_run() -> None:
    seed_shop(_options(TINY))
    planned = _questions()
    ProductQuestion.objects.all().delete()
    Article.objects.all().delete()
    PublishableKey.objects.all().delete()

    report = seed_shop(_options(TINY))
    assert report.skipped and report.counts["questions"] == len(planned)
    assert [row[:4] for row in _questions()] == [row[:4] for row in planned]
    assert Article.objects.count() == len(assistant_data.ARTICLES) and PublishableKey.objects.count() == 1
    assert seed_shop(_options(TINY)).counts == {}  # nothing left to add


@pytest.mark.django_db
def test_a_managers_unpublished_article_stays_unpublished_on_reseed() -> None:
    seed_shop(_options(TINY))
    Article.objects.filter(topic="payment").update(is_published=False)
    seed_shop(_options(TINY, force=True))
    assert not Article.objects.get(topic="payment").is_published


@pytest.mark.django_db
def test_the_launcher_allows_its_own_origin_once() -> None:
    seed_shop(_options(TINY))
    allow_demo_origin("http://127.0.0.1:8123")
    allow_demo_origin("http://127.0.0.1:8123")
    key = PublishableKey.objects.get()
    assert key.allowed_origins.count("http://127.0.0.1:8123") == 1


def test_the_demo_pipeline_indexes_knowledge_after_the_insight_steps() -> None:
    plan = launch_plan()
    assert plan.index("job index_knowledge") > plan.index("job product_insights") > plan.index("job seed_demo")
    after = {step.kind: step.after for step in MODEL_STEPS}
    assert "product_insights" in after["index_knowledge"]  # the index holds the review insight

