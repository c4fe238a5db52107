"""Builders for the assistant's API tests: publishable keys, conversations, and `scripted_ask`, a stand-in
for `assistant.answering.ask` that writes real ConversationMessage rows the way the real one does (the
shopper's message, then the reply; a hand-off when the shopper asks for a person) and reports `status` and
`sentence` events. Tests install it with the `scripted_answering` fixture; once the answering branch is
merged, a test that drops the fixture runs on the real `ask`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from assistant import answering
from assistant.models import (
    Article,
    Author,
    Conversation,
    ConversationMessage,
    ConversationStatus,
    HandoffReason,
    Intent,
    PublishableKey,
)

SHOP = "https://shop.example.com"
_seq = itertools.count(1)
RETURNS_TEXT = "You can return any item within 30 days of delivery for a full refund."


def key(**fields: Any) -> PublishableKey:
    """An active key of shop.example.com allowing SHOP."""
    n = next(_seq)
    defaults: dict[str, Any] = {"name": f"Shop {n}", "site": "shop.example.com", "allowed_origins": [SHOP]}
    return PublishableKey.objects.create(**{**defaults, **fields})


def conversation(**fields: Any) -> Conversation:
    return Conversation.objects.create(**fields)


def answered(conv: Conversation, question: str = "Can I return it?") -> ConversationMessage:
    """A question and its scripted answer in `conv`; returns the answer."""
    return scripted_ask(conv, question)


def returns_article() -> Article:
    article, _ = Article.objects.get_or_create(
        title="Returns", defaults={"topic": "returns", "body": f"## Returns\n{RETURNS_TEXT}", "is_published": True}
    )
    return article


def scripted_ask(
    conversation: Conversation,
    question: str,
    *,
    product: Any = None,
    customer: Any = None,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> ConversationMessage:
    """Answers from the returns article, or hands off when the question asks for a person. Like the real
    one it refuses a closed conversation with a ValueError and ends its events with its own `done`."""
    emit = on_event or (lambda name, payload: None)
    if conversation.status == ConversationStatus.CLOSED:
        raise ValueError(f"conversation {conversation.pk} is closed: start a new one")
    person = "person" in question.lower() or "human" in question.lower()
    intent = Intent.REQUEST_PERSON if person else Intent.RETURNS
    ConversationMessage.objects.create(
        conversation=conversation, author=Author.SHOPPER, text=question, language="en", intent=intent
    )
    emit("status", {"status": "retrieving"})
    if person:
        text = "I'll pass you to a person from the shop; they will reply here."
        conversation.status, conversation.handoff_reason = ConversationStatus.HANDED_OFF, HandoffReason.ASKED_FOR_PERSON
        conversation.handed_off_at = timezone.now()
        conversation.save(update_fields=["status", "handoff_reason", "handed_off_at", "updated_at"])
        emit("sentence", {"text": text})
        emit("done", {"handed_off": True})
        return ConversationMessage.objects.create(
            conversation=conversation, author=Author.ASSISTANT, text=text, answer_source="fixed",
            handed_off=True, handoff_reason=HandoffReason.ASKED_FOR_PERSON,
        )
    article = returns_article()
    sentences = ["You can return any item within 30 days of delivery.", "The refund is in full."]
    for sentence in sentences:
        emit("sentence", {"text": sentence})
    emit("done", {"handed_off": False})
    return ConversationMessage.objects.create(
        conversation=conversation, author=Author.ASSISTANT, text=" ".join(sentences), answer_source="generated",
        confidence=0.82, language="en", intent=intent,
        citations=[{"kind": "article", "id": article.pk, "title": article.title, "quote": RETURNS_TEXT,
                    "product": None, "score": 0.82}],
    )


@pytest.fixture
def scripted_answering(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Replaces `answering.ask` with `scripted_ask`; yields the calls (their arguments) for inspection."""
    calls: list[dict[str, Any]] = []

    def ask(conversation: Conversation, question: str, **kwargs: Any) -> ConversationMessage:
        calls.append({"conversation": conversation.pk, "question": question, **kwargs})
        return scripted_ask(conversation, question, **kwargs)

    monkeypatch.setattr(answering, "ask", ask)
    yield calls
