"""Answering one shopper message: `ask(conversation, question)` stores the message and the reply.

The steps, in order:
1. Limits: an empty question, or one longer than ASSISTANT_MAX_QUESTION_CHARS, is a ValueError (the API's
   400); a closed conversation takes no message.
2. The message is redacted (`redaction.redact`: emails and phone numbers) before anything else reads it:
   what is stored, searched and shown to the model never holds them. Its language (`detect_language`),
   intent (`intents.classify`) and the query it is searched as (`followups.resolve`: a follow-up joins the
   previous question; a follow-up's generic intent is the previous question's) are stored with it.
3. Hand-offs before retrieval: a conversation already handed off gets a short "a person will reply" note;
   then too many turns, a request for a person, a complaint, an order's status (no order system is
   connected) and repeated dissatisfaction (`conversations.repeatedly_dissatisfied`) hand off with a fixed
   reply in the shopper's language. A greeting gets a fixed greeting.
4. Retrieval (`retrieval.retrieve`, scoped to the product in focus plus the shop's articles) and the gate
   (`retrieval.answerable`): weak evidence gets "I don't know", a hand-off ("no_evidence") and an
   `UnansweredQuestion` for the inbox, so a manager can teach the answer.
5. Grounded generation (`grounded.answer`): every sentence checked against the evidence, cited; nothing
   grounded -> the best evidence quoted. No generator (not prepared, server down) -> quoted as well.
The reply stores citations, confidence (the gate's evidence score, 0-1), language, intent, answer source,
the hand-off and its reason, the generation model's ModelVersion, and details (retrieval scores, removed
sentences and why, timings) for the admin. `on_event(name, payload)` reports "status" (retrieving, writing),
"sentence" (each kept sentence, as soon as it is checked) and "done".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.generator_versions import version_for
from catalog.language import detect_language
from catalog.models import Product
from customers.models import Customer
from inference import registry
from inference.generation import GenerationError
from inference.loading import ModelNotAvailable

from . import conversations, retrieval
from .evidence import Evidence
from .followups import resolve
from .grounded import PROMPT_VERSION, GroundedAnswer, answer
from .intents import GREETING, classify
from .models import (
    AnswerSource,
    Author,
    Conversation,
    ConversationMessage,
    ConversationStatus,
    HandoffReason,
    Intent,
    UnansweredQuestion,
)
from .redaction import redact
from .support import Verdict

logger = logging.getLogger(__name__)

OnEvent = Callable[[str, dict[str, Any]], None]
RETRIEVE_K = 8
# Intents a follow-up may take from the question it follows ("and to Canada?" after a delivery question).
INHERITED = frozenset({Intent.PRODUCT_QUESTION, Intent.DELIVERY, Intent.RETURNS})
HANDOFF_INTENTS = {
    Intent.REQUEST_PERSON: HandoffReason.ASKED_FOR_PERSON,
    Intent.COMPLAINT: HandoffReason.COMPLAINT,
    Intent.ORDER_STATUS: HandoffReason.ORDER_STATUS,
}


def _ignore(name: str, payload: dict[str, Any]) -> None:
    pass


def checked_question(question: object) -> str:
    """The question with its whitespace collapsed; ValueError naming the limit when empty or too long."""
    if not isinstance(question, str):
        raise ValueError(f"question must be text, not {type(question).__name__}")
    text = " ".join(question.split())
    if not text:
        raise ValueError("question is empty: ask something")
    limit = settings.ASSISTANT_MAX_QUESTION_CHARS
    if len(text) > limit:
        raise ValueError(f"question is {len(text)} characters long: the limit is {limit}")
    return text


def _reply(conversation: Conversation, text: str, language: str, intent: str, **fields: Any) -> ConversationMessage:
    return ConversationMessage.objects.create(
        conversation=conversation, author=Author.ASSISTANT, text=redact(text), language=language, intent=intent,
        **fields,
    )


def _fixed(
    conversation: Conversation, key: str, language: str, intent: str, emit: OnEvent, *, handoff: str = "",
    details: dict[str, Any] | None = None,
) -> ConversationMessage:
    """A fixed reply; with `handoff` the conversation is handed to a person for that reason."""
    if handoff:
        conversations.hand_off(conversation, handoff)
    text = conversations.reply_text(key, language)
    emit("sentence", {"text": text, "citation": None})
    return _reply(
        conversation, text, language, intent, answer_source=AnswerSource.FIXED, handed_off=bool(handoff),
        handoff_reason=handoff, details=details or {},
    )


def _generator(details: dict[str, Any]) -> Any:
    """The generation role's backend, or None (noted in `details`) when none is available."""
    try:
        return registry.generator()
    except (ModelNotAvailable, OSError, ValueError) as exc:
        details["generation_error"] = f"{type(exc).__name__}: {exc}"
        logger.warning("assistant answers by quoting: no generator (%s)", exc)
        return None


def _evidence_record(evidence: list[Evidence]) -> list[dict[str, Any]]:
    return [{"chunk": e.chunk_id, "kind": e.kind, "id": e.source_id, "product": e.product_id,
             "score": round(e.score, 4), "text_score": round(e.text_score, 4),
             "vector_score": round(e.vector_score, 4)} for e in evidence]


def _grounded(question: str, evidence: list[Evidence], language: str, emit: OnEvent,
              details: dict[str, Any]) -> tuple[GroundedAnswer, Any]:
    """The grounded answer and the generator that wrote it (None: quoted without a model)."""
    generator = _generator(details)

    def on_sentence(verdict: Verdict) -> None:
        if verdict.kept and verdict.evidence is not None:
            emit("sentence", {"text": redact(verdict.sentence),
                              "citation": verdict.evidence.citation(redact(verdict.quote))})

    try:
        return answer(question, evidence, language, generator, on_sentence=on_sentence), generator
    except GenerationError as exc:
        details["generation_error"] = str(exc)
        logger.warning("assistant answers by quoting: generation failed (%s)", exc)
        return answer(question, evidence, language, None), None


def ask(
    conversation: Conversation,
    question: str,
    *,
    product: Product | None = None,
    customer: Customer | None = None,
    on_event: OnEvent | None = None,
) -> ConversationMessage:
    """Store the shopper's `question` in `conversation` and the assistant's reply; returns the reply (see the
    module docstring). ValueError for an empty or oversized question or a closed conversation."""
    text = redact(checked_question(question))
    if conversation.status == ConversationStatus.CLOSED:
        raise ValueError(f"conversation {conversation.pk} is closed: start a new one")
    emit = on_event or _ignore
    started = time.perf_counter()
    language = detect_language(text)
    found = classify(text)
    earlier = conversations.history(conversation)
    resolved = resolve(text, earlier, found.intent)
    intent = found.intent
    if resolved.followup and intent in INHERITED and earlier and earlier[-1].intent in INHERITED:
        intent = Intent(earlier[-1].intent)
    dissatisfied_now = conversations.is_dissatisfied(text)
    repeated = conversations.repeatedly_dissatisfied(conversation, dissatisfied_now)
    with transaction.atomic():
        if product is not None:
            conversation.product = product  # the product in focus: follow-ups stay on it
        if customer is not None and conversation.customer_id is None:
            conversation.customer = customer
        conversation.language = language
        conversation.save(update_fields=["product", "customer", "language", "updated_at"])
        shopper = ConversationMessage.objects.create(
            conversation=conversation, author=Author.SHOPPER, text=text, language=language, intent=intent,
            resolved_query=resolved.query,
        )
    details: dict[str, Any] = {"intent_cue": found.cue, "followup": resolved.followup}
    reply = _respond(conversation, shopper, resolved.query, language, intent, repeated, emit, details)
    details["timings"] = {**details.get("timings", {}), "total_ms": round((time.perf_counter() - started) * 1000)}
    reply.details = details
    reply.save(update_fields=["details"])
    emit("done", {"message": reply.pk, "answer_source": reply.answer_source, "handed_off": reply.handed_off,
                  "handoff_reason": reply.handoff_reason, "confidence": reply.confidence})
    return reply


def _respond(
    conversation: Conversation, shopper: ConversationMessage, query: str, language: str, intent: str,
    repeated: bool, emit: OnEvent, details: dict[str, Any],
) -> ConversationMessage:
    """The reply to the stored shopper message: a hand-off, a greeting, "I don't know" or an answer."""
    if conversation.status == ConversationStatus.HANDED_OFF:
        details["waiting_for_person"] = conversation.handoff_reason
        return _fixed(conversation, "waiting", language, intent, emit)
    reason = ""
    if conversations.too_long(conversation):
        reason = HandoffReason.CONVERSATION_TOO_LONG
    elif intent in HANDOFF_INTENTS:
        reason = HANDOFF_INTENTS[Intent(intent)]
    elif repeated:
        reason = HandoffReason.REPEATED_DISSATISFACTION
    if reason:
        return _fixed(conversation, reason, language, intent, emit, handoff=reason)
    if intent == Intent.OTHER and GREETING.search(shopper.text):
        return _fixed(conversation, "greeting", language, intent, emit)

    emit("status", {"status": "retrieving"})
    settings_used = retrieval.active_settings()
    clock = time.perf_counter()
    evidence = retrieval.retrieve(
        query, product_id=conversation.product_id, language=language, k=RETRIEVE_K, settings=settings_used
    )
    score = retrieval.gate_score(evidence)
    details["retrieval"] = {
        "query": query, "method": settings_used.method, "threshold": settings_used.threshold,
        "settings_version": settings_used.version, "best_score": round(score, 4),
        "evidence": _evidence_record(evidence),
    }
    details["timings"] = {"retrieval_ms": round((time.perf_counter() - clock) * 1000)}
    confidence = round(min(1.0, max(0.0, score)), 4)
    if not retrieval.answerable(evidence, settings_used):
        return _unanswered(conversation, shopper, language, intent, emit, details, confidence)

    emit("status", {"status": "writing"})
    clock = time.perf_counter()
    grounded, generator = _grounded(query, evidence, language, emit, details)
    details["timings"]["generation_ms"] = round((time.perf_counter() - clock) * 1000)
    details.update(removed=grounded.removed, left_out=grounded.left_out, model_output=redact(grounded.raw),
                   cut_off=grounded.cut_off, prompt_version=PROMPT_VERSION)
    if not grounded.source:  # every passage addressed the model
        return _unanswered(conversation, shopper, language, intent, emit, details, confidence)
    if grounded.source == AnswerSource.QUOTED:
        emit("sentence", {"text": grounded.text, "citation": grounded.citations[0]})
    model = version_for(generator) if generator is not None and grounded.source == AnswerSource.GENERATED else None
    return _reply(
        conversation, grounded.text, language, intent, citations=grounded.citations, confidence=confidence,
        answer_source=grounded.source, generation_model=model,
    )


def _unanswered(
    conversation: Conversation, shopper: ConversationMessage, language: str, intent: str, emit: OnEvent,
    details: dict[str, Any], confidence: float,
) -> ConversationMessage:
    """"I don't know", a hand-off for lack of evidence and the question in the inbox's unanswered list."""
    UnansweredQuestion.objects.create(
        message=shopper, question=shopper.resolved_query or shopper.text, product=conversation.product,
        language=language, best_score=confidence,
    )
    reply = _fixed(conversation, HandoffReason.NO_EVIDENCE, language, intent, emit,
                   handoff=HandoffReason.NO_EVIDENCE, details=details)
    reply.confidence = confidence
    reply.save(update_fields=["confidence"])
    return reply
