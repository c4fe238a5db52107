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
- contact_details: no email address, phone number (`inference.personal_data`, the detector the assistant's
  redaction uses), or link (`inference.links`: any domain ending, IP addresses, defanged "hxxp" and
  "evil[.]com") other than the campaign's landing URL and the shop's own domains (the landing URL's host
  and `allowed_domains`, from the CAMPAIGN_LINK_DOMAINS setting).
- placeholders: no `[Name]`, `{{...}}`, `{name}`, `<insert ...>`, "lorem ipsum", "XXX", "TBD".
- personal_data: no name of a customer other than the recipient (the caller passes the names it knows of:
  reviewers whose text the prompt carried, customers whose full name appears in the copy).
- review_copy: no run of REVIEW_NGRAM words taken from the product's reviews.
- language: the script (catalog.language) and, for Latin script, the function words match the language.
- required_text: the campaign's required text is in the body verbatim (whitespace-insensitive).
- repetition: no sentence, and no run of REPEAT_NGRAM words, twice in or across the subject, preheader and
  body (a product name or the offer restated once per part is fine), no word three times in a row.
- internal_framing: none of the brief's internal words reach the customer: marketing terms ("win back",
  "lapsed", "conversion", "segment", "customers who ...", "struggling to ..."), the goal's name and the
  audience's lifecycle terms.
- salutation: no generic greeting of a group ("Dear valued customers", "Hi runners"); "Hi {first_name},"
  and "Hi there," are fine.
- characters: no control, zero-width, private-use or replacement character, and in Latin-script copy no
  letter of another script (inference.text_checks).
- balance: brackets and double quotes closed in each field.
- subject_goal: the subject (push title) does not name the campaign's goal.
- vague_claims: no superlative or vague quality claim ("best", "unique", "high-quality", ...) that the
  brief, offer or product facts do not make themselves.
- readability: the body's Flesch-Kincaid grade is within the channel's READING_GRADE_MAX (English only).
- discourages: the copy tells the reader not to buy or runs the product down ("you should not order",
  "not suitable", "avoid it"): a small model asked to answer a complaint often does.
- point_of_view: the shop speaks as "we" to "you"; "I", "me" and "my" outside quotation marks are a
  customer's voice (a small model retells reviews in the first person: "it helps me hear").
- markup: no HTML tag, entity or inline event handler (`inference.links.find_markup`): copy is plain text,
  and the email's HTML part is rendered from it with escaping, so markup is never meant.

The required text is the shop's, not the model's: the new text checks (repetition to readability) skip it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from catalog.language import FUNCTION_WORDS, LATIN_SCRIPT, detect_language, guess_latin_language
from inference.grounding import invented_numbers, number_values, numbers
from inference.links import find_links, find_markup, within
from inference.personal_data import email_spans, phone_spans
from inference.text_checks import reading_grade, repeated_runs, repeated_sentences, stray_characters, tokens, unbalanced

from .channels import FIELDS, LIMITS, READING_GRADE_MAX, Copy

REVIEW_NGRAM = 8
REPEAT_NGRAM = 6  # a product name of five words may recur; six words said twice are a repeat
CHECKS = (
    "format", "length", "banned_words", "unsupported_claims", "contact_details", "placeholders", "personal_data",
    "review_copy", "language", "required_text", "repetition", "internal_framing", "salutation", "characters",
    "balance", "subject_goal", "vague_claims", "readability", "point_of_view", "discourages", "markup",
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
    goal: str = ""  # the goal's stored value, e.g. "winback"
    goal_label: str = ""  # its label, e.g. "Win back lapsed customers"
    audience_terms: Sequence[str] = ()  # internal names of the audience: "lifecycle", "at_risk", "lapsed"
    allowed_domains: Sequence[str] = ()  # the shop's own domains links may point to (with the landing URL's host)


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
    while lines and find_links(lines[-1].split()[-1]):  # a closing link line ("See it: https://...") is whole
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
    scrubbed = _blank(_blank(_blank(scrubbed, email_spans), _link_spans), phone_spans)
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

def _link_spans(text: str) -> list[tuple[int, int]]:
    return [(link.start, link.end) for link in find_links(text)]


def _blank(text: str, spans: Callable[[str], list[tuple[int, int]]]) -> str:
    """`text` with what `spans` finds replaced by a space each (emails before links before phones: an
    address's domain is no link, a link's digits no phone number)."""
    out, last = [], 0
    for start, end in spans(text):
        out += [text[last:start], " "]
        last = end
    return "".join([*out, text[last:]])


def _same_url(found: str, landing: str) -> bool:
    def bare(url: str) -> str:
        return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower()).rstrip("/.,;:!?")

    return bool(landing) and bare(found).startswith(bare(landing))


def shop_domains(context: GuardrailContext) -> list[str]:
    """The domains links may point to: the landing URL's host and the shop's configured domains."""
    landing = urlsplit(context.landing_url if "//" in context.landing_url else f"//{context.landing_url}")
    return [domain for domain in (landing.hostname or "", *context.allowed_domains) if domain]


def check_contact_details(copy: Copy, context: GuardrailContext) -> Result:
    """The campaign's own required text (an unsubscribe link, a service address) is the shop's, not the model's."""
    text = copy.text()
    if context.required_text.strip():
        text = text.replace(context.required_text.strip(), " ")
    problems = [f"email address {quoted(text[a:b])}" for a, b in email_spans(text)]
    without_emails = _blank(text, email_spans)
    domains = shop_domains(context)
    problems += [
        f"link {quoted(link.text)} is not the campaign's landing URL or the shop's own domain"
        for link in find_links(without_emails)
        if not (_same_url(link.text, context.landing_url) or (link.host and within(link.host, domains)))
    ]
    without_links = _blank(without_emails, _link_spans)
    problems += [f"phone number {quoted(without_links[a:b])}" for a, b in phone_spans(without_links)]
    if problems:
        return _result("contact_details", False, "; ".join(problems))
    return _result("contact_details", True, "no email address, phone number or foreign link")


def check_markup(copy: Copy, context: GuardrailContext) -> Result:
    """Copy is plain text: a tag, an entity or an event handler is never meant (and may be an injection)."""
    found = [f"{name} {quoted(part, 40)}" for name, text in _parts(copy, context) for part in find_markup(text)]
    if found:
        return _result("markup", False, "HTML in the copy: " + ", ".join(dict.fromkeys(found)))
    return _result("markup", True, "plain text, no HTML")


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
    (re.compile(r"</?\s*data\s*>|\bquoted data\b|\breview(?:er)?\s+quotes?\b|"
                r"\bonly facts you may state\b|\bfor (?:yourself|themselves)\b|\bprevious attempt\b|"
                r"\bbroke these rules\b|"
                r"\bwhat reviews say about it\b|\bbackground from the manager\b|\bapproved copy in our voice\b",
                re.I), "prompt text"),
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


# --- what a reader notices: repetition, internal words, salutations, characters, grade ------------------------


def _parts(copy: Copy, context: GuardrailContext) -> list[tuple[str, str]]:
    """(field name, text) of the model's fields: the required text is cut out of the body."""
    body = copy.body
    if context.required_text.strip():
        body = body.replace(context.required_text.strip(), " ")
    return [(name, text) for name, text in (("subject", copy.subject), ("preheader", copy.preheader),
                                             ("body", body)) if text.strip()]


def _count_run(run: str, text: str) -> int:
    return f" {' '.join(tokens(text))} ".count(f" {run} ")


def _quotes_allowed_text(run: str, allowed: str) -> bool:
    """The run is a phrase of the allowed text, give or take two words at its edges ("the" before a name)."""
    words = run.split()
    keep = max(len(words) - 2, 1)
    return any(f" {' '.join(words[i : i + keep])} " in allowed for i in range(len(words) - keep + 1))


def check_repetition(copy: Copy, context: GuardrailContext) -> Result:
    """A small model loops: it says a sentence twice or writes its whole body again. A run that quotes the
    allowed text (the product's name, the offer) may be said once in each field."""
    texts = [text for _, text in _parts(copy, context)]
    allowed = f" {' '.join(tokens(context.allowed_text))} "
    runs = [
        run for run in repeated_runs(texts, REPEAT_NGRAM)
        if not (_quotes_allowed_text(run, allowed) and all(_count_run(run, text) <= 1 for text in texts))
    ]
    said = [" ".join(tokens(sentence)) for sentence in repeated_sentences(texts)]
    found = runs + [s for s in said if not any(f" {s} " in f" {run} " for run in runs)]
    if found:
        return _result("repetition", False, "says twice: " + "; ".join(quoted(run, 80) for run in found[:3]))
    return _result("repetition", True, f"no sentence or {REPEAT_NGRAM}-word run repeated")


# The brief's words about customers, said to the customer: the goal, the audience definition, the strategy.
INTERNAL_PHRASES = (
    r"\bwin(?:ning)?[\s-]?back\b", r"\bwin(?:ning)?\s+(?:you|them|customers|shoppers|him|her)\s+back\b",
    r"\b(?:get|bring|getting|bringing)\s+(?:them|customers|shoppers|these\s+customers)\s+back\b",
    r"\blapsed\b", r"\bchurn(?:ed|ing|s)?\b", r"\bat-risk\b",
    r"\bat\s+risk\s+(?:customers?|shoppers?|segment|group)\b", r"\bconversions?\b", r"\bconvert(?:s|ed|ing)?\b",
    r"\bretention\b", r"\bretain(?:ing)?\s+(?:customers|shoppers|them)\b", r"\bre-?engag(?:e|ed|ing|ement)\b",
    r"\breactivat(?:e|ed|ing|ion)\b", r"\bsegments?\b", r"\btarget(?:ed)?\s+(?:audience|group|customers|segment)s?\b",
    r"\blifecycle\b", r"\bdormant\b", r"\bpain\s+points?\b",
    r"\byour\s+(?:top\s+)?(?:interests?|categor(?:y|ies))\s+(?:is|are|of|in)\b",
    r"\binactive\s+(?:customers|shoppers|users|buyers)\b", r"\bfunnel\b",
    r"\bup-?sell(?:ing)?\b", r"\bcross-?sell(?:ing)?\b", r"\bcustomer\s+(?:base|acquisition)\b",
    r"\b(?:customers|shoppers|buyers|users|clients)\s+who\b",
    r"\b(?:these|those|such|lost|former|past)\s+(?:customers|shoppers|buyers|users|clients)\b",
    r"\bstruggl(?:e|ed|ing)\s+to\s+\w+", r"\b(?:they|them)\s+(?:haven't|have\s+not|hasn't)\s+(?:bought|ordered|"
    r"purchased|shopped|been\s+back)\b",
)
_INTERNAL = [re.compile(p, re.I) for p in INTERNAL_PHRASES]
# Words of a goal label or an audience that any copy may use: they are not the brief's framing on their own.
EVERYDAY_WORDS = frozenset({
    "win", "back", "customer", "customers", "cross", "sell", "new", "active", "loyal", "all", "the", "and", "of",
    "to", "for", "our", "your", "shoppers", "buyers", "users", "people",
})
# Other names a goal's stored value goes by ("winback" is written "win back").
GOAL_NAMES: dict[str, tuple[str, ...]] = {
    "winback": ("win back", "winback"), "cross_sell": ("cross-sell", "cross sell", "cross-selling"),
    "conversion": ("conversion", "conversions"), "retention": ("retention",), "awareness": ("awareness",),
}


def _terms(values: Iterable[str], *, words: bool) -> list[str]:
    """The phrases to look for: each value with "_" as a space unless it is only everyday words, and with
    `words` each of its words of four letters or more that is not in EVERYDAY_WORDS."""
    found: list[str] = []
    for value in values:
        phrase = _norm(value.replace("_", " "))
        if not phrase or set(phrase.split()) <= EVERYDAY_WORDS:
            continue
        found.append(phrase)
        if words:
            found += [word for word in phrase.split() if word not in EVERYDAY_WORDS and len(word) > 3]
    return list(dict.fromkeys(found))


def goal_terms(context: GuardrailContext) -> list[str]:
    """The goal's names: its stored value (and GOAL_NAMES), its label, and the label's distinctive words
    ("Win back lapsed customers" gives "win back", "winback", that label, and "lapsed")."""
    names = [*GOAL_NAMES.get(context.goal, ()), context.goal] if context.goal else []
    return [*dict.fromkeys([*names, *_terms((context.goal, context.goal_label), words=True)])]


def _find(phrases: Iterable[str], text: str) -> list[str]:
    return [phrase for phrase in phrases if phrase.strip() and _phrase_pattern(phrase).search(text)]


def check_internal_framing(copy: Copy, context: GuardrailContext) -> Result:
    """The brief talks about customers ("lapsed", "struggling to get them back"); the copy talks to one.
    The goal's name in the subject is subject_goal's finding and is not reported here again."""
    found: list[str] = []
    goal = goal_terms(context)
    audience = _terms(context.audience_terms, words=False)
    for name, text in _parts(copy, context):
        hits = [m.group(0) for pattern in _INTERNAL for m in pattern.finditer(text)] + _find(audience, text)
        if name == "subject":
            found += [hit for hit in hits if not _find(goal, hit)]
        else:
            found += hits + _find(goal, text)
    unique = list({_norm(term): " ".join(term.lower().split()) for term in reversed(found)}.values())[::-1]
    if unique:
        return _result("internal_framing", False, "uses the brief's internal words: "
                                                  + ", ".join(quoted(term, 40) for term in unique))
    return _result("internal_framing", True, "no goal, audience or marketing term addressed to the customer")


_GREETING = r"(?:hi|hello|hey|dear|greetings|howdy|hiya|calling\s+all|attention)"
GROUP_NOUNS = (
    "customers", "customer", "shoppers", "everyone", "everybody", "all", "folks", "friends", "ladies", "gentlemen",
    "guys", "people", "fans", "members", "subscribers", "team", "lovers", "enthusiasts", "community", "readers",
    "clients", "buyers", "users", "y'all", "you all", "valued", "sir", "madam", "sir or madam", "fam",
)
# a word that cannot stand between a greeting and the group it names ("Hi there, news for runners")
_BREAKERS = r"(?:for|from|to|with|is|are|was|were|news|of|in|on|at|this|that|it|we|i|you|your|my|our|here|and)\b"
_GROUP = r"(?:" + "|".join(re.escape(noun) for noun in GROUP_NOUNS) + r"|[a-z]+(?:ers|ists|ees|ians|ies))"
_SALUTATION = re.compile(
    rf"\b{_GREETING}(?:[ \t]+there)?[ \t]*,?[ \t]+(?:(?!{_BREAKERS})[\w'’-]+[ \t]+){{0,3}}?{_GROUP}"
    rf"(?:[ \t]*(?:&|and)[ \t]*{_GROUP})?(?![\w'’])",
    re.I,
)


def check_salutation(copy: Copy, context: GuardrailContext) -> Result:
    """A message goes to one person: "Hi {first_name}," or "Hi there," greet them; "Dear valued customers"
    and "Hi runners" greet a mailing list."""
    found = list(dict.fromkeys(m.group(0) for _, text in _parts(copy, context) for m in _SALUTATION.finditer(text)))
    if found:
        return _result("salutation", False, "greets a group: " + ", ".join(quoted(g, 50) for g in found))
    return _result("salutation", True, "no greeting of a group")


def _latin(context: GuardrailContext) -> bool:
    return (context.language or "en").split("-")[0].lower() in LATIN_SCRIPT


def check_characters(copy: Copy, context: GuardrailContext) -> Result:
    found = stray_characters("\n".join(text for _, text in _parts(copy, context)), latin_only=_latin(context))
    if found:
        return _result("characters", False, "stray or invisible character(s): " + ", ".join(found[:5]))
    return _result("characters", True, "printable characters of the copy's script only")


def check_balance(copy: Copy, context: GuardrailContext) -> Result:
    problems = [f"{name}: {problem}" for name, text in _parts(copy, context) for problem in unbalanced(text)]
    if problems:
        return _result("balance", False, "; ".join(problems))
    return _result("balance", True, "brackets and double quotes closed")


def check_subject_goal(copy: Copy, context: GuardrailContext) -> Result:
    """A subject saying "Conversion" or "Win back" tells the customer what the shop wants of them."""
    found = _find(goal_terms(context), copy.subject)
    what = "push title" if context.channel == "push" else "subject"
    if found:
        return _result("subject_goal", False, f"the {what} names the campaign's goal: "
                                              + ", ".join(quoted(term, 40) for term in found))
    return _result("subject_goal", True, f"the {what} does not name the goal" if context.goal else "no goal given")


# Superlatives and vague quality claims: a product may be called this only when the shop says so itself.
VAGUE_PHRASES = (
    r"\bsecond to none\b", r"\blike no other\b", r"\bunlike any other\b", r"\bone of a kind\b",
    r"\bbest[\s-]in[\s-]class\b", r"\bstate[\s-]of[\s-]the[\s-]art\b", r"\bcutting[\s-]edge\b",
    r"\bworld[\s-]class\b", r"\b(?:high|top|premium|superior)[\s-]quality\b", r"\btop[\s-]notch\b",
    r"\bmust[\s-]haves?\b", r"\bgame[\s-]chang(?:ing|ers?)\b", r"\bbest\b", r"\bgreatest\b", r"\bfinest\b",
    r"\bunique(?:ly)?\b", r"\bunmatched\b", r"\bunbeatable\b", r"\bunrivall?ed\b", r"\bunparall?eled\b",
    r"\bpremium\b", r"\bperfect(?:ly)?\b", r"\bultimate\b", r"\brevolutionary\b", r"\bsuperior\b",
    r"\bflawless(?:ly)?\b", r"\bexceptional\b", r"\bincomparable\b",
)
_VAGUE = [re.compile(p, re.I) for p in VAGUE_PHRASES]
_SIGN_OFF = re.compile(r"\b(?:best\s+(?:regards|wishes)|all\s+the\s+best)\b", re.I)


def check_vague_claims(copy: Copy, context: GuardrailContext) -> Result:
    """Kept apart from unsupported_claims: a phrase that check reports ("best-selling", "the world's best")
    is not reported again here; "Best regards" is a sign-off, not a claim."""
    allowed_norm = _norm(context.allowed_text)
    found: list[str] = []
    for _, text in _parts(copy, context):
        text = _SIGN_OFF.sub(" ", text)
        taken = [m.span() for patterns in _COMPILED.values() for p in patterns for m in p.finditer(text)]
        for pattern in _VAGUE:
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(s < end and start < e for s, e in taken):
                    continue
                taken.append((start, end))
                if not _phrase_allowed(match.group(0), allowed_norm):
                    found.append(_norm(match.group(0)))
    unique = list(dict.fromkeys(found))
    if unique:
        return _result("vague_claims", False, "vague claim(s) the brief and product facts do not make: "
                                              + ", ".join(quoted(term, 40) for term in unique))
    return _result("vague_claims", True, "no superlative or vague quality claim beyond the brief and facts")


def check_readability(copy: Copy, context: GuardrailContext) -> Result:
    """The body's Flesch-Kincaid grade (English only: the formula and its syllable count are English)."""
    wanted = (context.language or "en").split("-")[0].lower()
    if wanted != "en":
        return _result("readability", True, f"not measured for {wanted} (the grade formula is English)")
    body = next((text for name, text in _parts(copy, context) if name == "body"), "")
    grade = reading_grade(body)
    limit = READING_GRADE_MAX[context.channel]
    if grade is None:
        return _result("readability", True, "too short to measure")
    if grade > limit:
        return _result("readability", False, f"reading grade {grade:g}, over the {context.channel} limit of "
                                             f"{limit:g}: shorter sentences and plainer words")
    return _result("readability", True, f"reading grade {grade:g} of at most {limit:g}")


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
        check_repetition(copy, context),
        check_internal_framing(copy, context),
        check_salutation(copy, context),
        check_characters(copy, context),
        check_balance(copy, context),
        check_subject_goal(copy, context),
        check_vague_claims(copy, context),
        check_readability(copy, context),
        check_point_of_view(copy, context),
        check_discourages(copy, context),
        check_markup(copy, context),
    ]


_FIRST_PERSON = re.compile(
    r"(?<![\w'’])(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|I’ll|[Mm]e|[Mm]y|[Mm]ine|[Mm]yself)(?![\w'’])"
)
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”")


def check_point_of_view(copy: Copy, context: GuardrailContext) -> Result:
    """Copy speaks as the shop; a first-person singular outside quotation marks is a customer's voice.
    Only for English (other languages pass: their pronouns are not listed)."""
    if (context.language or "en").split("-")[0].lower() != "en":
        return _result("point_of_view", True, "not checked for this language")
    found: list[str] = []
    for _, text in _parts(copy, context):
        unquoted = _QUOTED.sub(" ", text)
        for fixed in context.template_texts:
            unquoted = unquoted.replace(fixed.strip(), " ") if fixed.strip() else unquoted
        found += [m.group(0) for m in _FIRST_PERSON.finditer(unquoted)]
    if found:
        words = ", ".join(f"'{word}'" for word in dict.fromkeys(found))
        return _result("point_of_view", False, f"speaks as a customer ({words}): the shop writes as 'we' to 'you'")
    return _result("point_of_view", True, "written as the shop to the reader")


DISCOURAGING = (
    r"\b(?:should|must)\s+(?:not|never)\s+(?:buy|order|purchase|get|try)\b",
    r"\b(?:shouldn't|mustn't|shouldn’t|mustn’t)\s+(?:buy|order|purchase|get|try)\b",
    r"\b(?:do\s+not|don't|never)\s+(?:buy|order|purchase)\b", r"\bnot\s+(?:suitable|recommended|worth)\b",
    r"\bavoid\s+(?:it|this|these|them|the\s+product)\b", r"\bwaste\s+of\s+(?:money|time)\b",
    r"\bdisappoint(?:ing|ed|ment)\b", r"\b(?:poor|bad|terrible|awful|cheaply\s+made)\s+(?:quality|product)\b",
    r"\bdoes\s+not\s+(?:meet|work)\b", r"\bdoesn't\s+(?:meet|work)\b",
)
_DISCOURAGING = [re.compile(p, re.I) for p in DISCOURAGING]


def check_discourages(copy: Copy, context: GuardrailContext) -> Result:
    """Copy that tells the reader not to buy, or runs the product down, is never sent (English phrases)."""
    found = [m.group(0) for _, text in _parts(copy, context) for p in _DISCOURAGING for m in p.finditer(text)]
    if found:
        return _result("discourages", False, "runs the product down: " + ", ".join(quoted(f, 40) for f in found))
    return _result("discourages", True, "nothing that tells the reader not to buy")


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
    "repetition": "Say each thing once: do not repeat a sentence or write the message twice.",
    "internal_framing": "Write to the customer, not about customers: leave out the brief's goal, audience and "
                        "marketing terms.",
    "salutation": "Greet the reader as one person (\"Hi {first_name},\") or not at all; never a group.",
    "characters": "Use plain printable characters of the campaign's language only.",
    "balance": "Close every bracket and quotation mark you open.",
    "subject_goal": "Do not name the campaign's goal in the subject; say what is in it for the reader.",
    "vague_claims": "Replace superlatives and vague praise with concrete facts from the brief or product facts.",
    "readability": "Use short sentences and everyday words.",
    "point_of_view": "Write as the shop ('we') to the reader ('you'), never as a customer ('I', 'my').",
    "discourages": "Say what the product does well; never tell the reader not to buy it.",
    "markup": "Write plain text only: no HTML tags, entities or code.",
}
# Checks that get only their fixed sentence: their detail may quote text the copy took from customers, or
# characters a prompt should not carry.
FIXED_ONLY = frozenset({"review_copy", "personal_data", "format", "contact_details", "placeholders", "repetition",
                        "salutation", "characters", "markup"})


def fix_instructions(results: Iterable[Result]) -> list[str]:
    """One line per failed check: the fixed advice, plus the detail for checks that only quote the copy's
    own words, numbers and limits."""
    lines = []
    for row in failures(results):
        check = str(row["check"])
        if check in FIXED_ONLY:
            lines.append(FIXES[check])
        else:
            detail = " ".join(str(row["detail"]).replace("<", " ").replace(">", " ").split())[:300]
            lines.append(f"{check.replace('_', ' ')}: {detail}." + (f" {FIXES[check]}" if check in FIXES else ""))
    return lines
