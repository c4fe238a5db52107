"""The passages of each source: product facts and description, answered questions, article sections, review
insight; English and Chinese."""

from __future__ import annotations

from decimal import Decimal

from assistant.models import Article, ProductQuestion
from assistant.sources import (
    MAX_WORDS,
    article_passages,
    fact_name,
    insight_passages,
    markdown_text,
    product_passages,
    question_passages,
    split_passages,
    words_in,
)
from catalog.models import Product, ProductInsight

SENTENCE = "The kettle boils a full litre of water in under three minutes and switches itself off when done."


def _product(**fields: object) -> Product:
    values: dict[str, object] = {
        "pk": 7, "sku": "K-1", "title": "Steel Kettle 1.7 L", "category": "Home > Kitchen > Kettles",
        "brand": "Acme", "price": Decimal("39.90"), "currency": "EUR", "in_stock": False,
        "attributes": {"colour": "silver", "power": "2200 W", "cordless": True, "empty": ""}, "description": "",
    }
    return Product(**{**values, **fields})


def test_product_facts_then_one_passage_per_attribute_then_the_description() -> None:
    passages = product_passages(_product(description="Boils fast."))
    assert [p.position for p in passages] == [0, 1, 2, 3, 4, 5, 6]
    assert all(p.product_id == 7 and p.title == "Steel Kettle 1.7 L" and p.language == "en" for p in passages)
    assert passages[0].text.splitlines() == ["Steel Kettle 1.7 L", "Category: Home > Kitchen > Kettles", "Brand: Acme"]
    assert [p.text for p in passages[1:]] == [
        "Price: 39.90 EUR", "Availability: out of stock", "colour: silver", "power: 2200 W", "cordless: yes",
        "Boils fast.",
    ]


def test_attribute_keys_read_as_words_with_their_unit() -> None:
    assert fact_name("battery_hours") == "battery (hours)"
    assert fact_name("weight_g") == "weight (g)"
    assert fact_name("driver_mm") == "driver (mm)"
    assert fact_name("colour") == "colour"
    assert fact_name("noise cancelling") == "noise cancelling"


def test_long_description_is_cut_at_sentence_ends_within_the_word_limits() -> None:
    passages = product_passages(_product(description=" ".join([SENTENCE] * 20)))
    assert len(passages) > 3
    assert [p.position for p in passages] == list(range(len(passages)))
    description = passages[6:]  # after the facts, price, stock and the three attributes
    for passage in description:
        assert 60 <= words_in(passage.text) <= MAX_WORDS
        assert passage.text.endswith("done.")


def test_an_overlong_sentence_is_cut_between_words() -> None:
    pieces = split_passages(" ".join(["word"] * 300))
    assert [words_in(p) for p in pieces] == [120, 120, 60]


def test_chinese_description_is_cut_at_chinese_sentence_ends() -> None:
    text = "这款电水壶烧水很快，三分钟就能烧开一升水。" * 30
    passages = product_passages(_product(title="不锈钢电水壶", description=text))
    assert passages[0].language == "zh"
    assert len(passages) > 2
    assert all(p.text.endswith("。") for p in passages[6:])
    assert "。 " not in passages[6].text  # Chinese sentences join without a space


def test_question_passage_only_when_answered() -> None:
    answered = ProductQuestion(pk=3, product_id=7, question="Is it  cordless?", answer="Yes, it lifts off the base.")
    [passage] = question_passages(answered)
    assert (passage.title, passage.text) == ("Is it cordless?", "Q: Is it cordless?\nA: Yes, it lifts off the base.")
    assert passage.product_id == 7 and passage.language == "en"
    assert question_passages(ProductQuestion(pk=4, product_id=7, question="Is it loud?", answer=" ")) == []
    [chinese] = question_passages(ProductQuestion(pk=5, product_id=7, question="保修多久？", answer="两年保修。"))
    assert chinese.language == "zh"


def test_article_sections_become_plain_text_passages() -> None:
    article = Article(
        pk=2, title="Returns", language="en", is_published=True,
        body=(
            "You can return most items.\n\n## How to return\n\n1. Open **your orders**.\n2. Click [Return](/r).\n\n"
            "### Refunds\n\nRefunds take `5` days.\n\n```\n## not a heading\n```\n"
        ),
    )
    passages = article_passages(article)
    assert [p.title for p in passages] == ["Returns", "Returns: How to return", "Returns: Refunds"]
    assert passages[0].text == "You can return most items."
    assert passages[1].text == "Open your orders.\nClick Return."
    assert passages[2].text.startswith("Refunds take 5 days.") and "## not a heading" in passages[2].text
    assert all(p.product_id is None for p in passages)
    article.is_published = False
    assert article_passages(article) == []


def test_long_article_section_is_split() -> None:
    article = Article(pk=2, title="FAQ", is_published=True, body="## Everything\n\n" + " ".join([SENTENCE] * 15))
    passages = article_passages(article)
    assert len(passages) >= 2 and {p.title for p in passages} == {"FAQ: Everything"}


def test_insight_passages_count_quote_and_redact() -> None:
    insight = ProductInsight(
        product_id=7, review_count=40,
        praised_aspects=[{"aspect": "battery life", "count": 12, "quotes": [
            {"text": "Battery life is great, mail me at bob@example.com", "review_id": 1},
            {"text": "Lasts two days.", "review_id": 2},
        ]}],
        pain_points=[
            {"aspect": "lid", "count": 3, "quotes": [{"text": "Lid broke, call +44 20 7946 0958", "review_id": 3}]}
        ],
    )
    praised, pain = insight_passages(insight)
    assert praised.title == "Reviewers praise: battery life"
    assert praised.text == (
        'Reviewers praise the battery life (12 of 40 reviews): "Battery life is great, mail me at [email]"; '
        '"Lasts two days."'
    )
    assert pain.position == 1 and pain.text.startswith("Reviewers complain about the lid (3 of 40 reviews)")
    assert "7946" not in pain.text and "[phone]" in pain.text
    assert praised.product_id == 7


def test_chinese_insight_passage() -> None:
    insight = ProductInsight(
        product_id=7, review_count=10,
        pain_points=[{"aspect": "电池续航", "count": 4, "quotes": [{"text": "电池续航太短了"}]}],
    )
    [passage] = insight_passages(insight)
    assert passage.language == "zh"
    assert passage.text == "评论抱怨电池续航（10 条评论中有 4 条）：“电池续航太短了”"


def test_markdown_text_strips_syntax() -> None:
    source = "> **Note**: see _the_ [FAQ](http://x) &amp; more\n\n- a\n- b"
    assert markdown_text(source) == "Note: see the FAQ & more\na\nb"
