"""Checks every generated variant passes before a person sees it. Pure functions over text: no database,
no model, so each rule is explainable and testable with one violating and one clean example. Everything a
check compares the copy with arrives as plain values in a `GuardrailContext`; `campaigns.generation.context`
builds one from the database (and re-checks a stored variant with its `check_variant`).

`check_copy(copy, context)` returns `[{"check", "passed", "detail"}]`, one row per check, always in the
same order. The rules are deliberately literal (a phrase, a number, a run of words either is or is not in
the allowed text): a reviewer can see why a variant was flagged, and a false alarm costs one regeneration.

- format: the labelled fields of the channel were all there.
- length: the channel limits of campaigns.channels (email subject 78, preheader 100, body 1200; SMS 160
  in total; push title 50, body 178), required text included.
- banned_words: each banned word or phrase, whole words, any case.
- unsupported_claims: every number (digits or number words), currency amount, discount ("% off", "save",
  "sale", ...), date or deadline ("Friday", "this week", "ends soon", ...), and claim ("free shipping",
  "guarantee", "best-selling", ...) must occur in the allowed text: the brief, the offer, the product facts
  and the required text.
- contact_details: no email address, phone number, or URL other than the campaign's landing URL.
- placeholders: no `[Name]`, `{{...}}`, `{name}`, `<insert ...>`, "lorem ipsum", "XXX", "TBD".
- personal_data: no name of a customer other than the recipient (the caller passes the names it knows of:
  reviewers whose text the prompt carried, customers whose full name appears in the copy).
- review_copy: no run of REVIEW_NGRAM words taken from the product's reviews.
- language: the script (catalog.language) and, for Latin script, the function words match the language.
- required_text: the campaign's required text is in the body verbatim (whitespace-insensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.language import FUNCTION_WORDS, LATIN_SCRIPT, detect_language, guess_latin_language
from inference.grounding import invented_numbers, number_values, numbers

from .channels import FIELDS, LIMITS, Copy

REVIEW_NGRAM = 8
CHECKS = (
    "format", "length", "banned_words", "unsupported_claims", "contact_details", "placeholders", "personal_data",
    "review_copy", "language", "required_text",
)

Result = dict[str, Any]


@dataclass(frozen=True)
class GuardrailContext:
    """What the checks compare the copy against. `allowed_text` is the brief, offer, product facts and
    required text (joined by `inference.grounding.allowed_text`); names are compared lower-case."""

    channel: str
    allowed_text: str = ""
    banned_words: Sequence[str] = ()
    landing_url: str = ""
    language: str = "en"
    required_text: str = ""
    review_texts: Sequence[str] = ()
    recipient_names: frozenset[str] = frozenset()
    other_customer_names: frozenset[str] = frozenset()
    template_texts: Sequence[str] = ()  # the brand template's greeting, offer and sign-off: not the model's
    extra: dict[str, Any] = field(default_factory=dict)


def _result(check: str, passed: bool, detail: str) -> Result:
    return {"check": check, "passed": passed, "detail": detail}


def _norm(text: str) -> str:
    """Lower case, typographic quotes and dashes folded, hyphens as spaces, whitespace collapsed."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)
    return " ".join(text.split())


def quoted(text: str, limit: int = 60) -> str:
    """A piece of the copy, single-line and in quotes, cut at `limit` characters: how details cite it."""
    text = " ".join(text.split())
    return f"'{text if len(text) <= limit else text[: limit - 1] + '…'}'"


# --- format and length --------------------------------------------------------------------------------------


def check_format(copy: Copy, context: GuardrailContext) -> Result:
    """All labelled fields present, and the body not cut off mid-sentence by the token limit."""
    if copy.missing:
        return _result("format", False, f"missing {', '.join(label + ':' for label in copy.missing)} in the output")
    body = copy.body
    for fixed in (context.required_text, *context.template_texts):
        if fixed.strip():
            body = body.replace(fixed.strip(), "")
    lines = [line for line in body.strip().splitlines() if line.strip()]
    while lines and _URL.search(lines[-1].split()[-1]):  # a closing link line ("See it: https://...") is whole
        lines.pop()
    body = "\n".join(lines)
    if body.strip() and body.rstrip()[-1] not in ".!?…\"'”’)":
        return _result("format", False, "the body stops mid-sentence (cut off by the length limit)")
    labels = ", ".join(label + ":" for label, _ in FIELDS[context.channel])
    return _result("format", True, f"{labels} present")


def check_length(copy: Copy, context: GuardrailContext) -> Result:
    limits = LIMITS[context.channel]
    problems, sizes = [], []
    for name, limit in limits.items():
        size = len(getattr(copy, name))
        sizes.append(f"{name} {size}/{limit}")
        if size > limit:
            problems.append(f"{name} is {size} characters, over the limit of {limit}")
    for name in ("subject", "preheader"):
        if name not in limits and getattr(copy, name).strip():
            problems.append(f"{name} is not part of a {context.channel} message")
    if problems:
        return _result("length", False, "; ".join(problems))
    return _result("length", True, ", ".join(sizes))


# --- banned words ---------------------------------------------------------------------------------------------


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in _norm(phrase).split()]
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)", re.I)


def check_banned_words(copy: Copy, context: GuardrailContext) -> Result:
    text = copy.text()
    found = [word for word in context.banned_words if str(word).strip() and _phrase_pattern(str(word)).search(text)]
    if found:
        return _result("banned_words", False, f"uses banned word(s): {', '.join(map(str, found))}")
    return _result("banned_words", True, f"none of {len(context.banned_words)} banned word(s) used")


# --- unsupported prices, discounts, dates and claims ---------------------------------------------------------

_CURRENCY_AMOUNT = re.compile(
    r"[$€£¥₹]\s?\d[\d.,]*|\d[\d.,]*\s?(?:[$€£¥₹]|usd|eur|gbp|dollars?|euros?|pounds?|bucks)\b", re.I
)
# Discount language: each phrase found in the copy must be found in the allowed text.
DISCOUNT_PHRASES = (
    r"\d[\d.,]*\s?%\s*off", r"half[\s-]price", r"\b(?:half|\d+)\s+off\b",
    r"\boff\s+(?:your|the|all|any|every|orders?|everything|sitewide|today)\b",
    r"\bsave\b", r"\bsaves\b", r"\bsaving\b", r"\bsavings\b", r"\bdiscounts?\b",
    r"\bdiscounted\b", r"\b(?:on\s+)?sale\b", r"\bdeals?\b", r"\bcoupons?\b", r"\bvouchers?\b", r"\bpromo(?:tion)?\b",
    r"\bpromo\s+code\b", r"\bclearance\b", r"\bcashback\b", r"\bbogo\b", r"\bbuy one,? get one\b",
    r"\bcheap(?:er|est)?\b",
    r"\blowest price\b", r"\breduced\b", r"\bmarkdown\b",
)
DATE_PHRASES = (
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december)\b",
    r"\b(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?\s+\d{1,2}\b",
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", r"\btoday\b", r"\btonight\b",
    r"\btomorrow\b", r"\bthis (?:week|weekend|month|year)\b", r"\bnext (?:week|weekend|month)\b",
    r"\bends? (?:soon|tonight|today|tomorrow|on|at)\b", r"\bending soon\b", r"\buntil\b", r"\bdeadline\b",
    r"\bexpires?\b", r"\blast chance\b", r"\blimited[\s-]time\b", r"\bhours? left\b", r"\bdays? left\b",
    r"\bonly\s+\d+\s+(?:left|days?|hours?)\b", r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b", r"\b\d{4}-\d{2}-\d{2}\b",
    r"\b(?:christmas|black friday|cyber monday|easter|halloween|new year)\b",
)
CLAIM_PHRASES = (
    r"\bfree\s+(?:shipping|delivery|returns?|gift|bag|sample|trial|installation)\b", r"(?<![\w-])free\b",
    r"\bguarantee[ds]?\b", r"\bwarrant(?:y|ies)\b", r"\bmoney[\s-]back\b", r"\brisk[\s-]free\b",
    r"\bbest[\s-]?sell(?:ing|er|ers)\b", r"#\s?1\b", r"\bnumber one\b", r"\bno\.?\s?1\b", r"\baward[\s-]winning\b",
    r"\bawards?\b", r"\bclinically\b", r"\bproven\b", r"\bcertified\b", r"\bofficial\b", r"\blifetime\b",
    r"\bexclusive(?:ly)?\b", r"\blimited (?:stock|edition|supply)\b", r"\bin stock\b", r"\bsell(?:ing)? out\b",
    r"\bselling fast\b", r"\bnew arrivals?\b", r"\bbrand[\s-]new\b", r"\bnewest\b", r"\blatest\b",
    r"\bmost popular\b", r"\btop[\s-]rated\b", r"\bbest[\s-]reviewed\b", r"\b(?:world|industry)'?s best\b",
    r"\bpatented\b", r"\beco[\s-]friendly\b", r"\bsustainabl[ey]\b", r"\borganic\b", r"\bhandmade\b",
)
_COMPILED = {
    "discount": [re.compile(p, re.I) for p in DISCOUNT_PHRASES],
    "date": [re.compile(p, re.I) for p in DATE_PHRASES],
    "claim": [re.compile(p, re.I) for p in CLAIM_PHRASES],
}


def _phrase_allowed(found: str, allowed_norm: str) -> bool:
    """The phrase's words occur in the allowed text in order, at most two words apart ("free returns" is
    allowed by "free 30-day returns")."""
    words = [re.escape(word) for word in re.findall(r"[\w'#%$€£]+", _norm(found))]
    if not words:
        return True
    gap = r"\s+(?:\S+\s+){0,2}"
    return re.search(r"(?<!\w)" + gap.join(words) + r"(?!\w)", allowed_norm) is not None


def check_unsupported_claims(copy: Copy, context: GuardrailContext) -> Result:
    text = copy.text()
    allowed = context.allowed_text
    allowed_norm = _norm(allowed)
    problems: list[str] = []
    # the landing URL and the required text are not the model's claims
    scrubbed = text.replace(context.landing_url, " ") if context.landing_url else text
    if context.required_text.strip():
        scrubbed = scrubbed.replace(context.required_text.strip(), " ")
    # contact details are the contact_details check's finding: their digits are not claims
    scrubbed = _PHONE.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", scrubbed)))
    allowed_numbers = number_values(allowed)
    invented = invented_numbers(scrubbed, allowed_numbers)
    if invented:
        problems.append(f"number(s) not in the brief, offer or product facts: {', '.join(invented)}")
    for amount in _CURRENCY_AMOUNT.findall(scrubbed):
        if not numbers(amount) <= allowed_numbers:
            problems.append(f"price {quoted(amount)} is not the offer or the product's price")
    for kind, patterns in _COMPILED.items():
        seen: set[str] = set()
        for pattern in patterns:
            for match in pattern.finditer(scrubbed):
                phrase = match.group(0)
                key = _norm(phrase)
                if key in seen or _phrase_allowed(phrase, allowed_norm):
                    continue
                seen.add(key)
                problems.append(f"{kind} {quoted(phrase)} is not in the brief, offer or product facts")
    if problems:
        return _result("unsupported_claims", False, "; ".join(dict.fromkeys(problems)))
    return _result("unsupported_claims", True, "every number, price, discount, date and claim is in the brief, "
                                               "offer or product facts")


# --- contact details and placeholders -------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)
_PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\d(?:[\s().-]?\d){6,14}(?!\w)(?!\.\d)")
_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"')]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|shop|store|de|uk|fr|es|it|nl|"
    r"eu|info|biz|app|ly|me)\b(?:/[^\s<>\"')]*)?",
    re.I,
)


def _same_url(found: str, landing: str) -> bool:
    def bare(url: str) -> str:
        return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower()).rstrip("/.,;:!?")

    return bool(landing) and bare(found).startswith(bare(landing))


def check_contact_details(copy: Copy, context: GuardrailContext) -> Result:
    """The campaign's own required text (an unsubscribe link, a service address) is the shop's, not the model's."""
    text = copy.text()
    if context.required_text.strip():
        text = text.replace(context.required_text.strip(), " ")
    problems = [f"email address {quoted(m)}" for m in _EMAIL.findall(text)]
    without_emails = _EMAIL.sub(" ", text)
    problems += [
        f"URL {quoted(m)} is not the campaign's landing URL"
        for m in _URL.findall(without_emails)
        if not _same_url(m, context.landing_url)
    ]
    without_urls = _URL.sub(" ", without_emails)
    problems += [f"phone number {quoted(m)}" for m in _PHONE.findall(without_urls)]
    if problems:
        return _result("contact_details", False, "; ".join(problems))
    return _result("contact_details", True, "no email address, phone number or foreign URL")


PERSONALISATION_TOKENS = ("{first_name}", "{products}")  # campaigns.personalisation fills these
PLACEHOLDERS = (
    (re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S), "template tag"),
    (re.compile(r"\{\s*[A-Za-z_][\w .-]{0,40}\}"), "template field"),
    (re.compile(r"\[[^\]\n]{1,40}\]"), "bracketed placeholder"),
    (re.compile(r"<\s*(?:insert|add|your|name|link|product|customer|first)[^>\n]{0,40}>", re.I), "angle placeholder"),
    (re.compile(r"\blorem ipsum\b", re.I), "filler text"),
    (re.compile(r"\bX{3,}\b"), "XXX marker"),
    (re.compile(r"\b(?:TBD|TODO|FIXME)\b"), "unfinished marker"),
    # a small model sometimes echoes its prompt: the data fence or its labels must never reach a customer
    (re.compile(r"</?\s*data\s*>|\bquoted data\b|\breview quote\b", re.I), "prompt text"),
)


def check_placeholders(copy: Copy, context: GuardrailContext) -> Result:
    """Personalisation tokens (`{first_name}`, `{products}`) are filled at send time and allowed."""
    text = copy.text()
    for token in PERSONALISATION_TOKENS:
        text = text.replace(token, " ")
    found = [f"{kind} {quoted(m.group(0))}" for pattern, kind in PLACEHOLDERS for m in pattern.finditer(text)]
    if found:
        return _result("placeholders", False, "; ".join(found))
    return _result("placeholders", True, "no placeholder or filler text")


# --- personal data, copied reviews, language, required text --------------------------------------------------


def check_personal_data(copy: Copy, context: GuardrailContext) -> Result:
    text = _norm(copy.text())
    recipient = {_norm(name) for name in context.recipient_names if name.strip()}
    leaked = sorted(
        name for name in {_norm(n) for n in context.other_customer_names if n.strip()}
        if name not in recipient and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text)
    )
    if leaked:
        return _result("personal_data", False, f"names another customer: {', '.join(leaked)}")
    return _result("personal_data", True, f"no other customer's name among {len(context.other_customer_names)} known")


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[\w']+", _norm(text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def check_review_copy(copy: Copy, context: GuardrailContext, n: int = REVIEW_NGRAM) -> Result:
    grams = _ngrams(copy.text(), n)
    for index, review in enumerate(context.review_texts):
        shared = grams & _ngrams(review, n)
        if shared:
            run = " ".join(sorted(shared)[0])
            return _result("review_copy", False, f"copies {n} words in a row from review {index + 1}: '{run}'")
    return _result("review_copy", True, f"no {n}-word run from {len(context.review_texts)} review(s)")


def check_language(copy: Copy, context: GuardrailContext) -> Result:
    """Script first (catalog.language), then, for languages written in Latin script, function words."""
    wanted = (context.language or "en").split("-")[0].lower()
    text = copy.text()
    if context.required_text.strip():
        text = text.replace(context.required_text.strip(), " ")
    script = detect_language(text, declared="latin")
    if not script:
        return _result("language", False, "no words to tell the language by")
    if script == "latin" and wanted not in LATIN_SCRIPT:
        return _result("language", False, f"written in Latin script, the campaign is in {wanted}")
    if script != "latin" and script != wanted:
        return _result("language", False, f"written in {script}, the campaign is in {wanted}")
    if script == "latin" and wanted in FUNCTION_WORDS:
        guess, hits = guess_latin_language(text)
        if guess and guess != wanted and hits[guess] > 2 * hits.get(wanted, 0):
            return _result("language", False, f"looks like {guess} ({hits[guess]} function words against "
                                              f"{hits.get(wanted, 0)} of {wanted}), the campaign is in {wanted}")
    return _result("language", True, f"{wanted} as required")


def check_required_text(copy: Copy, context: GuardrailContext) -> Result:
    required = " ".join(context.required_text.split())
    if not required:
        return _result("required_text", True, "the campaign requires no text")
    if required.lower() in " ".join(copy.body.split()).lower():
        return _result("required_text", True, "required text present in the body")
    return _result("required_text", False, f"the body lacks the required text {quoted(required)}")


def check_copy(copy: Copy, context: GuardrailContext) -> list[Result]:
    """Every check, in CHECKS order."""
    if context.channel not in LIMITS:
        raise ValueError(f"unknown channel {context.channel!r}")
    return [
        check_format(copy, context),
        check_length(copy, context),
        check_banned_words(copy, context),
        check_unsupported_claims(copy, context),
        check_contact_details(copy, context),
        check_placeholders(copy, context),
        check_personal_data(copy, context),
        check_review_copy(copy, context),
        check_language(copy, context),
        check_required_text(copy, context),
    ]


def passed(results: Iterable[Result]) -> bool:
    return all(row["passed"] for row in results)


def failures(results: Iterable[Result]) -> list[Result]:
    return [row for row in results if not row["passed"]]


# What the model is told after a failed try. Checks whose detail may quote customer text (review_copy,
# personal_data) get a fixed sentence, so customer text never reaches the instruction part of a prompt.
FIXES = {
    "format": "Answer with the labelled lines only, each label at the start of its line, and finish the "
              "body with a complete sentence.",
    "personal_data": "Do not name any person other than the recipient.",
    "review_copy": "You copied a customer review word for word: say it in your own words.",
    "placeholders": "Write finished text: no placeholders, brackets or template fields.",
    "contact_details": "Remove every email address, phone number and web address.",
    "required_text": "Keep the required text unchanged.",
}


def fix_instructions(results: Iterable[Result]) -> list[str]:
    """One line per failed check: the fixed advice, plus the detail for checks that only quote the copy's
    own words, numbers and limits."""
    lines = []
    for row in failures(results):
        check = str(row["check"])
        if check in ("review_copy", "personal_data", "format", "contact_details", "placeholders"):
            lines.append(FIXES[check])
        else:
            detail = " ".join(str(row["detail"]).replace("<", " ").replace(">", " ").split())[:300]
            lines.append(f"{check.replace('_', ' ')}: {detail}." + (f" {FIXES[check]}" if check in FIXES else ""))
    return lines
