"""What the shop's staff do with conversations and with questions the assistant could not answer: one way
through, for the admin (and any later API).

`check_<step>(..., actor)` validates and authorises without changing anything; it raises `InboxError`
(a ValueError whose message says why, in words a manager can act on) or
`django.core.exceptions.PermissionDenied`. The admin also calls the checks to explain a hidden button.
`do_<step>(..., actor)` locks the row (`select_for_update`), re-checks on the locked row and changes it in
one transaction, so two managers clicking at once end in one consistent state. `actor` is a person
(`request.user`) or None for the system.

Steps:
- conversations (hand-off inbox): `do_assign` (to a staff member who may handle conversations, or None to
  unassign), `do_reply` (a staff message the widget shows; an unassigned conversation becomes the
  replier's), `do_close`, `do_reopen` (back to the inbox when it had been handed off, else open).
- learning: `do_learn_as_article` and `do_learn_as_product_answer` turn an `UnansweredQuestion` into an
  `Article` or a `ProductQuestion` (source "assistant", the shopper's question redacted) and mark the
  question resolved. Saving the new row re-indexes it (the indexing module's post_save signals), so the
  assistant answers the question from then on.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from core.actors import Actor, has_perm, stored_user

from .models import (
    Article,
    ArticleTopic,
    Author,
    Conversation,
    ConversationMessage,
    ConversationStatus,
    ProductQuestion,
    UnansweredQuestion,
)
from .redaction import redact

HANDLE_PERMISSION = "assistant.change_conversation"
ARTICLE_PERMISSION = "assistant.add_article"
ANSWER_PERMISSION = "assistant.add_productquestion"
RESOLVE_PERMISSION = "assistant.change_unansweredquestion"
MAX_REPLY_CHARS = 4000
MAX_TITLE_CHARS = 200  # Article.title
LEARNED_SOURCE = "assistant"


class InboxError(ValueError):
    """A step that is not possible now; the message says why."""


# --- who may --------------------------------------------------------------------------------------------


def _require(actor: Actor, permission: str, what: str) -> None:
    """None is the system (always allowed); a person needs `permission`."""
    if actor is not None and not has_perm(actor, permission):
        raise PermissionDenied(f"only managers may {what} (analysts have read-only access)")


def can_handle(user: User) -> bool:
    """Whether `user` may be given conversations: an active staff member who may change them."""
    return user.is_active and user.is_staff and user.has_perm(HANDLE_PERMISSION)


# --- conversations --------------------------------------------------------------------------------------


def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _sync(conversation: Conversation, locked: Conversation) -> None:
    """The caller's object shows what the locked row now holds."""
    for field in ("status", "assigned_to_id", "closed_at", "updated_at"):
        setattr(conversation, field, getattr(locked, field))


def _not_closed(conversation: Conversation, what: str) -> None:
    if conversation.status == ConversationStatus.CLOSED:
        raise InboxError(f"the conversation is closed: reopen it to {what}")


def check_assign(conversation: Conversation, to_user: User | None, actor: Actor) -> None:
    _require(actor, HANDLE_PERMISSION, "assign conversations")
    _not_closed(conversation, "assign it")
    if to_user is not None and not can_handle(to_user):
        raise InboxError(f"{to_user} cannot take conversations (needs an active staff account that may change them)")


def do_assign(conversation: Conversation, to_user: User | None, actor: Actor) -> Conversation:
    """Give the conversation to `to_user` (None: nobody)."""
    with transaction.atomic():
        locked = _locked(conversation)
        check_assign(locked, to_user, actor)
        locked.assigned_to = to_user
        locked.save(update_fields=["assigned_to", "updated_at"])
    _sync(conversation, locked)
    return conversation


def check_reply(conversation: Conversation, text: str, actor: Actor) -> None:
    _require(actor, HANDLE_PERMISSION, "reply to shoppers")
    _not_closed(conversation, "reply")
    if not (text or "").strip():
        raise InboxError("the reply is empty: write what the shopper should read")
    if len(text.strip()) > MAX_REPLY_CHARS:
        raise InboxError(f"the reply has {len(text.strip())} characters; at most {MAX_REPLY_CHARS}")


def do_reply(conversation: Conversation, text: str, actor: Actor) -> ConversationMessage:
    """A staff message in the conversation: the widget shows it with the assistant's. Not redacted: staff
    write it on purpose (the shop's own phone number is an answer). An unassigned conversation becomes the
    replier's."""
    with transaction.atomic():
        locked = _locked(conversation)
        check_reply(locked, text, actor)
        user = stored_user(actor)
        message = ConversationMessage.objects.create(
            conversation=locked, author=Author.STAFF, staff_user=user, text=text.strip(),
            language=locked.language,
        )
        if locked.assigned_to_id is None and user is not None:
            locked.assigned_to = user
        locked.save(update_fields=["assigned_to", "updated_at"])
    _sync(conversation, locked)
    return message


def check_close(conversation: Conversation, actor: Actor) -> None:
    _require(actor, HANDLE_PERMISSION, "close conversations")
    if conversation.status == ConversationStatus.CLOSED:
        raise InboxError("the conversation is already closed")


def do_close(conversation: Conversation, actor: Actor) -> Conversation:
    """Closed: out of the inbox; the widget's next question starts a new conversation."""
    with transaction.atomic():
        locked = _locked(conversation)
        check_close(locked, actor)
        locked.status, locked.closed_at = ConversationStatus.CLOSED, timezone.now()
        locked.save(update_fields=["status", "closed_at", "updated_at"])
    _sync(conversation, locked)
    return conversation


def check_reopen(conversation: Conversation, actor: Actor) -> None:
    _require(actor, HANDLE_PERMISSION, "reopen conversations")
    if conversation.status != ConversationStatus.CLOSED:
        raise InboxError("only a closed conversation can be reopened")


def do_reopen(conversation: Conversation, actor: Actor) -> Conversation:
    """Back into the inbox when it had been handed off (its reason kept), else open for the assistant."""
    with transaction.atomic():
        locked = _locked(conversation)
        check_reopen(locked, actor)
        handed_off = bool(locked.handoff_reason or locked.handed_off_at)
        locked.status = ConversationStatus.HANDED_OFF if handed_off else ConversationStatus.OPEN
        locked.closed_at = None
        locked.save(update_fields=["status", "closed_at", "updated_at"])
    _sync(conversation, locked)
    return conversation


# --- learning from unanswered questions -----------------------------------------------------------------


def _locked_question(unanswered: UnansweredQuestion) -> UnansweredQuestion:
    return UnansweredQuestion.objects.select_for_update().get(pk=unanswered.pk)


def _unresolved(unanswered: UnansweredQuestion) -> None:
    if unanswered.resolved_at is not None:
        answered = unanswered.answered_by_article or unanswered.answered_by_question
        by = f" by {answered!r}" if answered is not None else ""
        raise InboxError(f"this question is already resolved{by} (on {unanswered.resolved_at:%Y-%m-%d %H:%M})")


def check_learn_as_article(unanswered: UnansweredQuestion, title: str, body: str, topic: str, actor: Actor) -> None:
    _require(actor, ARTICLE_PERMISSION, "write articles")
    _require(actor, RESOLVE_PERMISSION, "resolve unanswered questions")
    _unresolved(unanswered)
    if not (title or "").strip():
        raise InboxError("the article needs a title")
    if len(title.strip()) > MAX_TITLE_CHARS:
        raise InboxError(f"the title has {len(title.strip())} characters; at most {MAX_TITLE_CHARS}")
    if not (body or "").strip():
        raise InboxError("the article needs a body (Markdown): the answer the assistant should give")
    if topic not in ArticleTopic.values:
        raise InboxError(f"unknown topic {topic!r}: one of {', '.join(ArticleTopic.values)}")


def _resolve(locked: UnansweredQuestion, actor: Actor, **answered_by: Article | ProductQuestion) -> None:
    locked.resolved_at, locked.resolved_by = timezone.now(), stored_user(actor)
    for field, row in answered_by.items():
        setattr(locked, field, row)
    locked.save(update_fields=["resolved_at", "resolved_by", *answered_by])


def do_learn_as_article(
    unanswered: UnansweredQuestion, title: str, body: str, topic: str, publish: bool, actor: Actor
) -> Article:
    """A help article that answers the question (published: indexed at once), and the question resolved."""
    with transaction.atomic():
        locked = _locked_question(unanswered)
        check_learn_as_article(locked, title, body, topic, actor)
        article = Article.objects.create(
            title=title.strip(), body=body.strip(), topic=topic, language=locked.language or "en",
            is_published=publish,
        )
        _resolve(locked, actor, answered_by_article=article)
    unanswered.refresh_from_db()
    return article


def check_learn_as_product_answer(
    unanswered: UnansweredQuestion, product: Product | None, answer: str, actor: Actor
) -> None:
    _require(actor, ANSWER_PERMISSION, "answer product questions")
    _require(actor, RESOLVE_PERMISSION, "resolve unanswered questions")
    _unresolved(unanswered)
    if product is None:
        raise InboxError("a product answer needs the product it is about")
    if not (answer or "").strip():
        raise InboxError("the answer is empty: write what the assistant should say")
    if not redact(unanswered.question).strip():
        raise InboxError("the question has no text left once personal data is removed")


def do_learn_as_product_answer(
    unanswered: UnansweredQuestion, product: Product | None, answer: str, actor: Actor
) -> ProductQuestion:
    """The shopper's question (redacted) with the shop's answer, as the product's question and answer
    (source "assistant"), and the unanswered question resolved."""
    with transaction.atomic():
        locked = _locked_question(unanswered)
        check_learn_as_product_answer(locked, product, answer, actor)
        assert product is not None  # checked above
        question = ProductQuestion.objects.create(
            product=product, question=redact(locked.question).strip(), answer=answer.strip(),
            language=locked.language, source=LEARNED_SOURCE,
        )
        _resolve(locked, actor, answered_by_question=question)
    unanswered.refresh_from_db()
    return question
