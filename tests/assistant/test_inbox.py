"""The inbox steps (assign, reply, close, reopen) and learning from unanswered questions: each changes its
row as it says, refuses with a reason, and only managers may take them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from assistant import inbox
from assistant.models import (
    Article,
    Author,
    ConversationStatus,
    HandoffReason,
    ProductQuestion,
)
from tests.catalog.builders import product

from .builders_admin import conversation, handed_off, unanswered

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_manager(manager: User) -> User:
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    return manager


# --- assign -----------------------------------------------------------------------------------------------


def test_assign_to_a_manager_and_unassign(staff_manager: User) -> None:
    conv = handed_off()
    inbox.do_assign(conv, staff_manager, staff_manager)
    conv.refresh_from_db()
    assert conv.assigned_to == staff_manager and conv.status == ConversationStatus.HANDED_OFF
    inbox.do_assign(conv, None, staff_manager)
    conv.refresh_from_db()
    assert conv.assigned_to is None


def test_assign_refuses_analysts_people_who_cannot_handle_and_closed_conversations(
    staff_manager: User, analyst: User
) -> None:
    conv = handed_off()
    with pytest.raises(PermissionDenied, match="only managers"):
        inbox.do_assign(conv, staff_manager, analyst)
    with pytest.raises(inbox.InboxError, match="cannot take conversations"):
        inbox.do_assign(conv, analyst, staff_manager)
    inbox.do_close(conv, staff_manager)
    with pytest.raises(inbox.InboxError, match="closed: reopen it"):
        inbox.do_assign(conv, staff_manager, staff_manager)


# --- reply ------------------------------------------------------------------------------------------------


def test_reply_adds_a_staff_message_and_takes_an_unassigned_conversation(staff_manager: User) -> None:
    conv = handed_off()
    message = inbox.do_reply(conv, "  Yes, the lid fits models from 2021 on.  ", staff_manager)
    assert message.author == Author.STAFF and message.staff_user == staff_manager
    assert message.text == "Yes, the lid fits models from 2021 on."
    assert list(conv.messages.values_list("author", flat=True)) == ["shopper", "assistant", "staff"]
    conv.refresh_from_db()
    assert conv.assigned_to == staff_manager and conv.status == ConversationStatus.HANDED_OFF


def test_reply_keeps_someone_elses_assignment(staff_manager: User, admin_user: User) -> None:
    conv = handed_off(assigned_to=admin_user)
    inbox.do_reply(conv, "On it.", staff_manager)
    conv.refresh_from_db()
    assert conv.assigned_to == admin_user


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (inbox.MAX_REPLY_CHARS + 1)])
def test_reply_refuses_empty_and_oversized_text(staff_manager: User, text: str) -> None:
    conv = handed_off()
    with pytest.raises(inbox.InboxError, match=r"empty|at most"):
        inbox.do_reply(conv, text, staff_manager)
    assert not conv.messages.filter(author=Author.STAFF).exists()


def test_reply_refuses_closed_conversations_and_analysts(staff_manager: User, analyst: User) -> None:
    conv = handed_off()
    with pytest.raises(PermissionDenied):
        inbox.do_reply(conv, "Hello", analyst)
    inbox.do_close(conv, staff_manager)
    with pytest.raises(inbox.InboxError, match="closed"):
        inbox.do_reply(conv, "Hello", staff_manager)


# --- close and reopen -------------------------------------------------------------------------------------


def test_close_then_reopen_returns_to_the_inbox_with_its_reason(staff_manager: User) -> None:
    conv = handed_off(HandoffReason.COMPLAINT)
    inbox.do_close(conv, staff_manager)
    assert conv.status == ConversationStatus.CLOSED and conv.closed_at is not None
    with pytest.raises(inbox.InboxError, match="already closed"):
        inbox.do_close(conv, staff_manager)
    inbox.do_reopen(conv, staff_manager)
    conv.refresh_from_db()
    assert conv.status == ConversationStatus.HANDED_OFF and conv.closed_at is None
    assert conv.handoff_reason == HandoffReason.COMPLAINT


def test_reopen_of_a_conversation_never_handed_off_is_open_again(staff_manager: User) -> None:
    conv = conversation()
    with pytest.raises(inbox.InboxError, match="only a closed"):
        inbox.do_reopen(conv, staff_manager)
    inbox.do_close(conv, staff_manager)
    inbox.do_reopen(conv, staff_manager)
    assert conv.status == ConversationStatus.OPEN


def test_the_system_may_close(staff_manager: User) -> None:
    conv = handed_off()
    inbox.do_close(conv, None)
    conv.refresh_from_db()
    assert conv.status == ConversationStatus.CLOSED


# --- learning ---------------------------------------------------------------------------------------------


def test_learn_as_article_creates_it_and_resolves_the_question(staff_manager: User) -> None:
    item = unanswered("Do you deliver on Saturdays?")
    article = inbox.do_learn_as_article(
        item, "Saturday delivery", "## Saturday delivery\n\nYes, for orders placed by Friday 2 pm.", "delivery",
        True, staff_manager,
    )
    assert Article.objects.get() == article
    assert article.is_published and article.topic == "delivery" and article.language == "en"
    item.refresh_from_db()
    assert item.resolved_at is not None and item.resolved_by == staff_manager
    assert item.answered_by_article == article and item.answered_by_question is None


def test_learn_as_product_answer_redacts_the_question_and_resolves(staff_manager: User) -> None:
    item = unanswered("Does the lid fit the older model? Mail me at ann@example.com or call +44 20 7946 0958")
    other = product(title="Kettle, 2021 model")
    answer = inbox.do_learn_as_product_answer(item, other, " Yes, every lid since 2019 fits. ", staff_manager)
    stored = ProductQuestion.objects.get()
    assert stored == answer and stored.product == other and stored.source == "assistant"
    assert stored.answer == "Yes, every lid since 2019 fits."
    assert "ann@example.com" not in stored.question and "7946" not in stored.question
    assert stored.question.startswith("Does the lid fit the older model?")
    item.refresh_from_db()
    assert item.answered_by_question == stored and item.resolved_by == staff_manager


def test_learning_refuses_an_already_resolved_question(staff_manager: User) -> None:
    item = unanswered()
    inbox.do_learn_as_product_answer(item, item.product, "Yes.", staff_manager)
    with pytest.raises(inbox.InboxError, match="already resolved"):
        inbox.do_learn_as_article(item, "Lids", "## Lids\n\nThey fit.", "faq", True, staff_manager)
    with pytest.raises(inbox.InboxError, match="already resolved"):
        inbox.do_learn_as_product_answer(item, item.product, "Yes.", staff_manager)
    assert ProductQuestion.objects.count() == 1 and not Article.objects.exists()


@pytest.mark.parametrize(
    ("title", "body", "topic", "reason"),
    [
        ("", "body", "faq", "needs a title"),
        ("x" * 201, "body", "faq", "at most 200"),
        ("Lids", "  ", "faq", "needs a body"),
        ("Lids", "body", "gossip", "unknown topic 'gossip'"),
    ],
)
def test_learn_as_article_refuses_bad_input(
    staff_manager: User, title: str, body: str, topic: str, reason: str
) -> None:
    item = unanswered()
    with pytest.raises(inbox.InboxError, match=reason):
        inbox.do_learn_as_article(item, title, body, topic, True, staff_manager)
    item.refresh_from_db()
    assert item.resolved_at is None and not Article.objects.exists()


def test_learn_as_product_answer_refuses_no_product_and_empty_answer(staff_manager: User) -> None:
    item = unanswered()
    with pytest.raises(inbox.InboxError, match="needs the product"):
        inbox.do_learn_as_product_answer(item, None, "Yes.", staff_manager)
    with pytest.raises(inbox.InboxError, match="answer is empty"):
        inbox.do_learn_as_product_answer(item, item.product, " ", staff_manager)
    assert not ProductQuestion.objects.exists()


def test_only_managers_learn(analyst: User, nobody: User) -> None:
    item = unanswered()
    for user in (analyst, nobody):
        with pytest.raises(PermissionDenied):
            inbox.do_learn_as_article(item, "Lids", "## Lids\n\nThey fit.", "faq", True, user)
        with pytest.raises(PermissionDenied):
            inbox.do_learn_as_product_answer(item, item.product, "Yes.", user)
    item.refresh_from_db()
    assert item.resolved_at is None
