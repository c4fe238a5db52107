"""Builders for the inbox and admin tests: conversations with their turns (written directly, no model runs),
questions the assistant could not answer, articles, product answers and publishable keys. Each call makes
one valid, distinct object; keyword arguments override any field."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from assistant.models import (
    AnswerSource,
    Article,
    Author,
    Conversation,
    ConversationMessage,
    ConversationStatus,
    HandoffReason,
    Intent,
    ProductQuestion,
    PublishableKey,
    UnansweredQuestion,
)
from catalog.models import Product
from tests.catalog.builders import product

_seq = itertools.count(1)

CITATION = {
    "kind": "article", "id": 1, "title": "Returns: 30 days", "quote": "Return unworn items within 30 days.",
    "product": None, "score": 0.82,
}


def publishable_key(**fields: Any) -> PublishableKey:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "name": f"Storefront {n}", "site": f"shop{n}.example.com", "allowed_origins": [f"https://shop{n}.example.com"],
    }
    return PublishableKey.objects.create(**{**defaults, **fields})


def conversation(**fields: Any) -> Conversation:
    """An open English conversation about a product."""
    defaults: dict[str, Any] = {"language": "en"}
    if "product" not in fields:
        defaults["product"] = product(title="Gooseneck kettle")
    return Conversation.objects.create(**{**defaults, **fields})


def message(
    conv: Conversation, author: str = Author.SHOPPER, text: str = "Can I return it?", **fields: Any
) -> ConversationMessage:
    return ConversationMessage.objects.create(conversation=conv, author=author, text=text, **fields)


def answered(conv: Conversation, question: str = "Can I return it?", *, feedback: str = "") -> ConversationMessage:
    """A shopper's question and the assistant's grounded answer (with one citation); returns the answer."""
    message(conv, text=question, intent=Intent.RETURNS, language="en")
    return message(
        conv, Author.ASSISTANT, "Yes: return unworn items within 30 days.", citations=[CITATION], confidence=0.82,
        answer_source=AnswerSource.GENERATED, feedback=feedback,
    )


def handed_off(reason: str = HandoffReason.NO_EVIDENCE, *, hours_ago: float = 1, **fields: Any) -> Conversation:
    """A conversation handed off `hours_ago`, with the shopper's question and the assistant's hand-off."""
    conv = conversation(**{
        "status": ConversationStatus.HANDED_OFF, "handoff_reason": reason,
        "handed_off_at": timezone.now() - timedelta(hours=hours_ago), **fields,
    })
    message(conv, text="Does the lid fit the older model?", intent=Intent.PRODUCT_QUESTION, language="en")
    message(
        conv, Author.ASSISTANT, "I don't know that yet; a person from the shop will answer here.",
        answer_source=AnswerSource.FIXED, handed_off=True, handoff_reason=reason, confidence=0.12,
    )
    return conv


def unanswered(question: str = "Does the lid fit the older model? Mail me at ann@example.com",
               product_: Product | None = None, **fields: Any) -> UnansweredQuestion:
    """A question handed off for lack of evidence (its message in a handed-off conversation)."""
    conv = handed_off(product=product_ or product(title="Gooseneck kettle"))
    shopper = conv.messages.filter(author=Author.SHOPPER).first()
    assert shopper is not None
    return UnansweredQuestion.objects.create(
        message=shopper, question=question, product=conv.product, language="en", best_score=0.21, **fields
    )


def article(**fields: Any) -> Article:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "title": f"Returns {n}", "topic": "returns", "body": "## Returns\n\nReturn within 30 days.",
        "is_published": True,
    }
    return Article.objects.create(**{**defaults, **fields})


def product_question(**fields: Any) -> ProductQuestion:
    defaults: dict[str, Any] = {"question": "Is it dishwasher safe?", "answer": "Yes, top rack.", "source": "import"}
    if "product" not in fields:
        defaults["product"] = product()
    return ProductQuestion.objects.create(**{**defaults, **fields})
