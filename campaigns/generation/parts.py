"""The parts of a message the model writes, each from its own short prompt, and the brand template that
joins them into a message.

Why parts: asked for a whole email at once, a 0.5B model repeats its body, runs on past the sign-off and
restates the brief ("We've been struggling to find a way to get them back"). One line or one paragraph at a
time, each cut at the first newline (a stop sequence), a part cannot repeat another part or run on, and
what must be exact never passes through the model: the greeting, the offer (verbatim from the brief), the
sign-off and the required text come from the campaign's template.

- email: subject, preheader, paragraph (two or three sentences), cta (a button text). Body:
  greeting / paragraph / offer / "cta: landing URL" / sign-off / required text, one per paragraph.
- sms: line. Body: "line offer required text", within 160 characters: the line gets what the rest leaves.
- push: title, line. Body: "line offer", within 178 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..channels import EMAIL, EMAIL_PREHEADER_MAX, LIMITS, PUSH, PUSH_TITLE_MAX, SMS, Copy
from ..models import Campaign

PARAGRAPH_MAX_CHARS = 480
CTA_MAX_CHARS = 40
DEFAULT_CTA = "Take a look"  # the template's button when no sampled one passes
LINE_MIN_CHARS = 20  # a channel whose template leaves less than this for the model's line is refused


@dataclass(frozen=True)
class Part:
    """One piece the model writes: where it lands (`field` of `Copy`), its limits, and the task line of
    its prompt (`{limit}` is filled with `max_chars`)."""

    name: str
    field: str
    max_chars: int
    max_new_tokens: int
    task: str
    sentences: bool  # whole sentences (ends with . ! ?), or a title-like line (no final full stop needed)


def _subject(limit: int, what: str) -> Part:
    return Part("subject", "subject", limit, 20, f"Write the {what}: a short phrase of 4 to 8 words about the "
                "product, no quotes, no emoji.", sentences=False)


def parts_for(campaign: Campaign) -> tuple[Part, ...]:
    """The parts of the campaign's channel, with the limits its template leaves them."""
    if campaign.channel == EMAIL:
        return (
            _subject(60, "email subject line"),
            Part("preheader", "preheader", EMAIL_PREHEADER_MAX, 28,
                 "Write the email preview text: one short line (at most 12 words) that makes the reader "
                 "want to open the email.", sentences=False),
            Part("paragraph", "body", PARAGRAPH_MAX_CHARS, 96,
                 "Write the body of the email: two or three short sentences to the reader (say 'you'), about this "
                 "product only. No greeting, no sign-off, no price, no discount, no link.", sentences=True),
            Part("cta", "body", CTA_MAX_CHARS, 10,
                 "Write the text of the email's button, like 'See the details' or 'Take a closer look': "
                 "a few words inviting the reader to look at this product.", sentences=False),
        )
    budget = line_budget(campaign)
    words = max(3, budget // 7)  # a small model counts words, not characters: about 7 characters a word
    line = Part("line", "body", budget, 48,
                f"Write the {'SMS' if campaign.channel == SMS else 'notification'} text: one short sentence of at "
                f"most {words} words about this product. No greeting, no price, no discount, no link.",
                sentences=True)
    if campaign.channel == PUSH:
        return (_subject(min(40, PUSH_TITLE_MAX), "notification title"), line)
    return (line,)


def line_budget(campaign: Campaign) -> int:
    """Characters the SMS or push template leaves the model's line (the offer and required text are fixed)."""
    template = assemble(campaign, {"line": ""}).body
    return LIMITS[campaign.channel]["body"] - len(template) - 1


def offer_sentence(offer: str) -> str:
    """The campaign's offer, verbatim, as a sentence."""
    offer = " ".join(offer.split())
    offer = offer[:1].upper() + offer[1:]
    return offer if not offer or offer[-1] in ".!?" else f"{offer}."


def assemble(campaign: Campaign, texts: dict[str, str]) -> Copy:
    """The message from the parts' texts (by part name) and the campaign's template; the required text comes
    last, verbatim."""
    offer = offer_sentence(campaign.offer)
    required = campaign.required_text.strip()
    if campaign.channel == EMAIL:
        cta = texts.get("cta", "").strip()
        if cta and campaign.landing_url:
            cta = f"{cta}: {campaign.landing_url}"
        elif cta and cta[-1] not in ".!?":
            cta += "."
        greeting, sign_off = campaign.greeting.strip(), campaign.sign_off.strip()
        blocks = [greeting, texts.get("paragraph", ""), offer, cta, sign_off, required]
        body = "\n\n".join(block.strip() for block in blocks if block and block.strip())
        return Copy(subject=texts.get("subject", ""), preheader=texts.get("preheader", ""), body=body)
    body = " ".join(part.strip() for part in (texts.get("line", ""), offer, required) if part and part.strip())
    return Copy(subject=texts.get("subject", "") if campaign.channel == PUSH else "", body=body)


def template_texts(campaign: Campaign) -> list[str]:
    """The texts of the message that are the template's, not the model's (for checks that judge writing)."""
    return [text for text in (campaign.greeting.strip(), offer_sentence(campaign.offer), campaign.sign_off.strip(),
                              campaign.required_text.strip()) if text]


_LABEL = re.compile(
    r"^\s*(?:subject(?: line)?|preheader|preview(?: text)?|title|body|text|sms|notification|button(?: text)?|"
    r"call to action|cta)\s*:\s*", re.I,
)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|greetings)\b", re.I)
_GREETING_SENTENCE = re.compile(r"^[^.!?]*[.!?]\s*")
_GREETING_WORDS = 6  # a first sentence this short that opens with a greeting is the greeting ("Hi there, runners!")
_QUOTES = "\"'“”‘’«»"
_ENDS = ".!?…\"'”’)"


def _strip_greeting(text: str) -> str:
    """Drop an opening greeting (the template has one): its whole sentence when short, else up to its comma."""
    if not _GREETING.match(text):
        return text
    sentence = _GREETING_SENTENCE.match(text)
    if sentence and len(sentence.group(0).split()) <= _GREETING_WORDS:
        return text[sentence.end():].strip()
    return text.split(",", 1)[1].strip() if "," in text[:40] else text


def clean(text: str, part: Part) -> str:
    """A part's text as it goes into the message: one line, without markdown, a label the model echoed, a
    greeting (the template has one) or quotes around it; a title-like part loses a final full stop."""
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = re.sub(r"\*\*|__|`+|^#+\s*", "", text).strip()
    text = _LABEL.sub("", text).strip()
    if part.name in ("paragraph", "line", "preheader"):
        text = _strip_greeting(text)
        text = text[:1].upper() + text[1:]
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    for quote in '"“”':  # a quote the model opened around its answer and the newline cut before it closed
        if text.count(quote) == 1 and quote != "”" and text.startswith(quote):
            text = text[1:].strip()
        if text.count(quote) == 1 and quote != "“" and text.endswith(quote):
            text = text[:-1].strip()
    if part.name in ("subject", "cta"):  # titles and buttons carry no full stop
        text = text.rstrip(".").strip()
    elif text and text[-1] not in _ENDS:  # cut off by the token limit: keep the whole sentences, if any
        whole = max(text.rfind(mark) for mark in ".!?")
        if whole > 0:
            text = text[: whole + 1]
    return _fit(" ".join(text.split()), part)


_BREAKS = re.compile(r"\s+[-–—|]\s+|[:;,!?]\s+")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def _fit(text: str, part: Part) -> str:
    """A part over its limit, shortened where it naturally breaks: whole leading sentences, or (a title-like
    part) the phrase before a dash, colon or comma. Left as is when no break leaves at least half the limit
    (the length check then rejects it)."""
    if len(text) <= part.max_chars:
        return text
    if part.sentences:
        kept = ""
        for sentence in _SENTENCE.split(text):
            if len(f"{kept} {sentence}".strip()) > part.max_chars:
                break
            kept = f"{kept} {sentence}".strip()
        if len(kept) >= part.max_chars // 3 or part.name == "paragraph":
            return kept or text
    # a title-like part, or an SMS or push line with no whole sentence that fits: the phrase before a break
    # (for a line only the first: a later one leaves a fragment such as "Glow Serum, a gentle.")
    cuts = [m.start() for m in _BREAKS.finditer(text) if m.start() < part.max_chars]
    if part.sentences:
        cuts = cuts[:1]
    cuts = [cut for cut in cuts if cut >= part.max_chars * 2 // 5]
    if not cuts:
        return text
    cut = text[: cuts[-1]].rstrip(" ,;:-–—")
    return f"{cut}." if part.sentences and cut[-1] not in ".!?" else cut
