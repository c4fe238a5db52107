"""Deterministic repair of a failed piece of copy: the sentences that on their own break a sentence-level
guardrail are dropped, if enough real content is left, instead of regenerating the whole variant (a
regeneration costs tens of seconds on CPU, and a 0.5B model often repeats the slip). Pure text, like the
guardrails it runs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..channels import EMAIL_PREHEADER_MAX, Copy
from ..guardrails import (
    GuardrailContext,
    check_banned_words,
    check_contact_details,
    check_personal_data,
    check_placeholders,
    check_review_copy,
    check_unsupported_claims,
    quoted,
)

# Checks a single sentence can fail on its own: such a sentence is dropped rather than the whole variant
# regenerated (a regeneration costs tens of seconds on CPU, and a 0.5B model often repeats the slip).
SENTENCE_CHECKS: tuple[tuple[str, Callable[[Copy, GuardrailContext], dict[str, Any]]], ...] = (
    ("placeholders", check_placeholders),
    ("contact_details", check_contact_details),
    ("unsupported_claims", check_unsupported_claims),
    ("banned_words", check_banned_words),
    ("review_copy", check_review_copy),
    ("personal_data", check_personal_data),
)
# A repaired body must keep real content: at least this many sentences and this share of the original ones;
# otherwise the model's output is mostly violations and the variant is regenerated instead.
REPAIR_MIN_SENTENCES = 2
REPAIR_MIN_SHARE = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_ENDS_SENTENCE = tuple(".!?…\"'”’)")


def split_sentences(text: str) -> list[list[str]]:
    """Paragraphs (lines) of sentences; a sentence ends at . ! ? or … followed by a space."""
    return [[part for part in _SENTENCE_END.split(line.strip()) if part.strip()] for line in text.splitlines()]


def _join(paragraphs: Sequence[Sequence[str]]) -> str:
    lines = [" ".join(sentences) for sentences in paragraphs]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _sentence_problem(sentence: str, context: GuardrailContext) -> str:
    """'' when the sentence passes every sentence-level check, else the first failed check and its detail."""
    copy = Copy(body=sentence)
    for name, check in SENTENCE_CHECKS:
        row = check(copy, context)
        if not row["passed"]:
            return f"{name.replace('_', ' ')}: {row['detail']}"
    return ""


def _passing(sentences: Sequence[str], context: GuardrailContext, dropped: list[str], what: str) -> list[str]:
    """The sentences that pass every sentence-level check; each other one is noted in `dropped`."""
    kept = []
    for sentence in sentences:
        problem = _sentence_problem(sentence, context)
        if problem:
            dropped.append(f"{what} {quoted(sentence, 50)} ({problem})")
        else:
            kept.append(sentence)
    return kept


def repair_copy(copy: Copy, context: GuardrailContext) -> tuple[Copy, list[str]] | None:
    """Drop the sentences of the subject, preheader and body that on their own fail a sentence-level check
    (and a last body sentence the token limit cut off, and trailing preheader sentences over its limit). A
    preheader left empty becomes the body's first kept sentence (what mail clients preview without one); a
    subject left empty is reported missing, so the format check fails and the variant is regenerated
    (there is no honest replacement for a subject).

    Returns (repaired copy, what was dropped), with an empty list when nothing needed dropping, or None when
    the repair would leave too little (fewer than REPAIR_MIN_SENTENCES sentences or less than
    REPAIR_MIN_SHARE of them): then the unrepaired copy is checked and regenerated as before. The required
    text is not the model's and is never touched (it is appended after the repair)."""
    dropped: list[str] = []
    repaired = Copy(subject=copy.subject, preheader=copy.preheader, body=copy.body, missing=list(copy.missing))
    lost_preheader = False
    for attr, label in (("subject", "SUBJECT"), ("preheader", "PREHEADER")):
        sentences = [part for part in _SENTENCE_END.split(getattr(copy, attr).strip()) if part.strip()]
        kept_parts = _passing(sentences, context, dropped, f"{attr} sentence")
        if attr == "preheader" and len(" ".join(kept_parts)) > EMAIL_PREHEADER_MAX:  # keep what fits
            while kept_parts and len(" ".join(kept_parts)) > EMAIL_PREHEADER_MAX:
                kept_parts.pop()
            dropped.append(f"preheader cut to {'its leading sentences' if kept_parts else 'nothing'} (too long)")
        setattr(repaired, attr, " ".join(kept_parts))
        if sentences and not kept_parts:
            if attr == "preheader":
                lost_preheader = True
            else:
                repaired.missing.append("TITLE" if context.channel != "email" else label)
    required = context.required_text.strip()
    body, tail = copy.body, ""
    if required and required in body:  # the model copied the required text: keep it, and what follows, as is
        body, _, after = body.partition(required)
        tail = f"{required}{after}"
    paragraphs = split_sentences(body)
    total = sum(len(sentences) for sentences in paragraphs)
    kept_paragraphs = [_passing(sentences, context, dropped, "sentence") for sentences in paragraphs]
    last = next((p for p in reversed(kept_paragraphs) if p), None)
    if last is not None and not tail and not last[-1].rstrip().endswith(_ENDS_SENTENCE):
        dropped.append(f"sentence {quoted(last.pop(), 50)} (cut off by the length limit)")
    kept_count = sum(len(sentences) for sentences in kept_paragraphs)
    if dropped and total and (kept_count < REPAIR_MIN_SENTENCES or kept_count < REPAIR_MIN_SHARE * total):
        return None
    repaired.body = "\n\n".join(part for part in (_join(kept_paragraphs), tail.strip()) if part)
    if lost_preheader:  # what mail clients show without one: the body's first sentence, if it fits
        first = next((sentence for sentences in kept_paragraphs for sentence in sentences), "")
        if first and len(first) <= EMAIL_PREHEADER_MAX:
            repaired.preheader = first
            dropped.append("preheader replaced by the body's first sentence")
        else:
            repaired.missing.append("PREHEADER")
    if not repaired.body and "BODY" not in repaired.missing:
        repaired.missing.append("BODY")
    return repaired, dropped


def repair_result(dropped: Sequence[str]) -> dict[str, Any]:
    """The row a repaired variant carries after its checks, so a reviewer sees what was removed."""
    noun = "item" if len(dropped) == 1 else "items"
    detail = f"dropped {len(dropped)} {noun}: " + "; ".join(dropped)
    return {"check": "repair", "passed": True, "detail": detail[:2000]}
