"""Conversation-level rules of the assistant: the shopper's earlier turns (for follow-ups), when a
conversation is too long or the shopper repeatedly dissatisfied, the hand-off itself, and the fixed replies
(English and Chinese) that go with each hand-off.

Repeated dissatisfaction (a hand-off, "repeated_dissatisfaction"), checked when a new question comes in:
- two or more of the assistant's replies in the conversation were marked "not helpful", or
- the new message is dissatisfied ("that's not what I asked", "useless", "没用", "答非所问") and so was the
  shopper's previous message, or the assistant's last reply was marked "not helpful".
One unhappy signal is answered (the shopper may rephrase); the second in a row goes to a person.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils import timezone

from .followups import Turn
from .models import Author, Conversation, ConversationStatus, Feedback, HandoffReason

NOT_HELPFUL_LIMIT = 2  # "not helpful" feedbacks in one conversation before a person takes over

DISSATISFIED = re.compile(
    "|".join([
        r"\bnot (?:very |at all )?helpful\b", r"\b(?:doesn'?t|does not|didn'?t|did not) help\b", r"\bunhelpful\b",
        r"\buseless\b", r"\bpointless\b", r"\bnot what i (?:asked|meant|wanted)\b",
        r"\bthat'?s not (?:it|right|true)\b",
        r"\bwrong answer\b", r"\byou(?:'re| are) wrong\b", r"\byou (?:don'?t|do not) understand\b",
        r"\b(?:didn'?t|did not|doesn'?t|does not) answer\b", r"\bnonsense\b", r"\bstupid bot\b", r"\bno,? no\b",
        r"\bi already (?:asked|said|told)\b", r"\bread my question\b",
        r"没用|没有用|没帮助|没有帮助|答非所问|不是我问的|我问的不是|你没听懂|听不懂|不对|胡说|废话|什么鬼",
    ]),
    re.IGNORECASE,
)

REPLIES: dict[str, dict[str, str]] = {
    HandoffReason.NO_EVIDENCE: {
        "en": "I'm sorry, I don't know: the shop's information does not answer that. I have passed your question "
              "to our team, and a person will reply here.",
        "zh": "抱歉，我不知道：店铺的资料里没有这个问题的答案。"
              "我已把您的问题转给我们的团队，会有工作人员在这里回复您。",
    },
    HandoffReason.COMPLAINT: {
        "en": "I'm sorry to hear that. I have passed your message to our team, and a person will reply here.",
        "zh": "非常抱歉给您带来不好的体验。我已把您的留言转给我们的团队，会有工作人员在这里回复您。",
    },
    HandoffReason.ASKED_FOR_PERSON: {
        "en": "Of course. I have asked a person from our team to take over; they will reply here.",
        "zh": "好的，我已请我们团队的工作人员接手，他们会在这里回复您。",
    },
    HandoffReason.ORDER_STATUS: {
        "en": "I can't look up orders: no order system is connected to this chat. I have passed your question "
              "to our team, and a person who can check your order will reply here.",
        "zh": "抱歉，我无法查询订单：这个对话没有连接订单系统。"
              "我已把您的问题转给我们的团队，能查看订单的工作人员会在这里回复您。",
    },
    HandoffReason.REPEATED_DISSATISFACTION: {
        "en": "I'm sorry I couldn't help. I have passed our conversation to our team, and a person will reply here.",
        "zh": "抱歉没能帮到您。我已把我们的对话转给团队，会有工作人员在这里回复您。",
    },
    HandoffReason.CONVERSATION_TOO_LONG: {
        "en": "This conversation has grown long, so I have passed it to our team; a person will reply here.",
        "zh": "我们的对话已经很长了，我已把它转给我们的团队，会有工作人员在这里回复您。",
    },
    "waiting": {
        "en": "Thank you, your message is added to the conversation. A person from our team will reply here.",
        "zh": "谢谢，您的留言已加入对话。我们团队的工作人员会在这里回复您。",
    },
    "greeting": {
        "en": "Hello! Ask me about our products, delivery or returns, and I will answer from the shop's information.",
        "zh": "您好！您可以问我关于商品、配送或退换货的问题，我会根据店铺的资料回答。",
    },
}


def reply_text(key: str, language: str) -> str:
    """A fixed reply in the shopper's language (Chinese or English; other languages get English)."""
    texts = REPLIES[key]
    return texts["zh"] if language == "zh" else texts["en"]


def is_dissatisfied(text: str) -> bool:
    """Does the message say the assistant did not help?"""
    return bool(DISSATISFIED.search(text or ""))


def history(conversation: Conversation) -> list[Turn]:
    """The shopper's earlier messages, oldest first, as follow-up resolution reads them."""
    rows = conversation.messages.filter(author=Author.SHOPPER).order_by("created_at", "id")
    return [Turn(m.text, m.resolved_query, m.intent) for m in rows]


def too_long(conversation: Conversation) -> bool:
    """More shopper messages than ASSISTANT_MAX_TURNS (the new one counted)?"""
    return conversation.messages.filter(author=Author.SHOPPER).count() > settings.ASSISTANT_MAX_TURNS


def repeatedly_dissatisfied(conversation: Conversation, dissatisfied_now: bool) -> bool:
    """The rule of the module docstring. Call it before the new message is stored."""
    replies = conversation.messages.filter(author=Author.ASSISTANT)
    if replies.filter(feedback=Feedback.NOT_HELPFUL).count() >= NOT_HELPFUL_LIMIT:
        return True
    if not dissatisfied_now:
        return False
    last_reply = replies.order_by("-created_at", "-id").first()
    if last_reply is not None and last_reply.feedback == Feedback.NOT_HELPFUL:
        return True
    previous = conversation.messages.filter(author=Author.SHOPPER).order_by("-created_at", "-id").first()
    return previous is not None and is_dissatisfied(previous.text)


def hand_off(conversation: Conversation, reason: str) -> None:
    """Mark the conversation as waiting for a person, with the reason (the inbox lists it)."""
    conversation.status = ConversationStatus.HANDED_OFF
    conversation.handoff_reason = reason
    conversation.handed_off_at = timezone.now()
    conversation.save(update_fields=["status", "handoff_reason", "handed_off_at", "updated_at"])
