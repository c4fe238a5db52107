"""Copy written anywhere (an agency's draft, another tool's output) as plain records, checked by every
guardrail without the database: `manage.py check_copy` reads JSON Lines of these records.

A record is an object with `channel` (email, sms, push), `subject`, `preheader`, `body`, a `brief` object
(`goal`, `audience`, `offer`, `banned_words`, `required_text`, `voice`, `language`, `landing_url`, and
optionally `text`, the brief in the manager's words, and `greeting` and `sign_off`, the brand template's
lines, which are not judged as writing), a `product` object (`title`, `description`, `price`,
`currency`, `brand`, optional `attributes`) and an optional `reviews` list of strings; other keys are
ignored. `record_copy` turns one into the `Copy` and `GuardrailContext` generation would have checked:
- allowed text: the brief's text, offer, required text and landing URL, and the product's facts;
- `reviews` are the review texts the copy must not quote;
- `goal` is a stored value ("winback") or a label ("Win back lapsed customers"); other text is a label;
- `audience` is free text: its internal lifecycle words ("lapsed", "at risk") become audience terms.
Pure: no Django, no database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from inference.grounding import allowed_text

from .channels import FIELDS, Copy
from .guardrails import GuardrailContext, Result, check_copy, failures

# The values and labels of campaigns.models.Campaign.Goal (a test keeps them equal).
GOALS: dict[str, str] = {
    "awareness": "Awareness", "conversion": "Conversion", "retention": "Retention",
    "winback": "Win back lapsed customers", "cross_sell": "Cross-sell",
}
# Words of an audience description that name a lifecycle stage or a segment rule, not the people: the
# stages of customers.models.Lifecycle that no copy would use in their everyday sense ("new", "active" and
# "loyal" would), and common synonyms.
AUDIENCE_TERMS = (
    "at_risk", "lapsed", "prospect", "churned", "churn", "dormant", "inactive", "lifecycle", "one-time buyers",
    "repeat buyers", "high value", "low value", "rfm",
)
COPY_FIELDS = ("subject", "preheader", "body")
BRIEF_FIELDS = (
    "goal", "audience", "offer", "required_text", "voice", "language", "landing_url", "text", "greeting", "sign_off",
)
PRODUCT_FIELDS = ("title", "description", "currency", "brand")


class RecordError(ValueError):
    """A record that cannot be checked: `field` names where (dotted, e.g. "brief.banned_words")."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def _object(record: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{where}{key}", f"expected an object, got {_type(value)}")
    return value


def _type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number"
    )


def _text(record: Mapping[str, Any], key: str, where: str = "") -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(f"{where}{key}", f"expected a string, got {_type(value)}")
    return value


def _strings(record: Mapping[str, Any], key: str, where: str = "") -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"{where}{key}", "expected a list of strings")
    return list(value)


def goal_of(text: str) -> tuple[str, str]:
    """(stored value, label) of a goal written as a value ("winback", "cross-sell") or a label; any other
    text is a label with no stored value."""
    key = re.sub(r"[\s-]+", "_", text.strip().lower())
    if key in GOALS:
        return key, GOALS[key]
    for value, label in GOALS.items():
        if label.lower() == text.strip().lower():
            return value, label
    return "", text.strip()


def audience_terms(audience: str) -> list[str]:
    """The AUDIENCE_TERMS an audience description uses ("lapsed trail runners" -> ["lapsed"])."""
    text = audience.lower()
    return [
        term for term in AUDIENCE_TERMS
        if re.search(r"(?<!\w)" + r"[\s_-]+".join(map(re.escape, re.split(r"[\s_-]+", term))) + r"(?!\w)", text)
    ]


def product_facts(product: Mapping[str, Any]) -> list[str]:
    """The product's facts as lines, like the prompt's (`campaigns.prompts.product_facts`)."""
    texts = {key: _text(product, key, "product.") for key in PRODUCT_FIELDS}
    price = product.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, int | float | str)):
        raise RecordError("product.price", f"expected a number or a string, got {_type(price)}")
    attributes = _object(product, "attributes", "product.")
    lines = [f"- {key}: {value}" for key, value in texts.items() if value and key != "currency"]
    if price is not None and str(price).strip():
        lines.append(f"- price: {price} {texts['currency']}".rstrip())
    pairs = [f"{key}: {value}" for key, value in attributes.items()
             if isinstance(value, str | int | float) and not isinstance(value, bool)]
    if pairs:
        lines.append("- key attributes: " + "; ".join(pairs))
    return lines


def record_copy(record: object) -> tuple[Copy, GuardrailContext]:
    """The copy of one record and the context to check it in; RecordError names the field that is wrong."""
    if not isinstance(record, dict):
        raise RecordError("", f"expected an object, got {_type(record)}")
    channel = record.get("channel")
    if not isinstance(channel, str) or channel not in FIELDS:
        shown = json.dumps(channel, ensure_ascii=False) if channel is not None else "missing"
        raise RecordError("channel", f"{shown} is not one of {', '.join(FIELDS)}")
    texts = {key: _text(record, key) for key in COPY_FIELDS}
    brief = _object(record, "brief")
    product = _object(record, "product")
    brief_texts = {key: _text(brief, key, "brief.") for key in BRIEF_FIELDS}
    banned = _strings(brief, "banned_words", "brief.")
    reviews = _strings(record, "reviews")
    # an email may go without a preheader (mail clients preview the body's start; generation leaves it out
    # when no candidate passes); every other field of the channel is needed
    missing = [label for label, attr in FIELDS[channel] if not texts[attr].strip() and attr != "preheader"]
    copy = Copy(subject=texts["subject"], preheader=texts["preheader"], body=texts["body"], missing=missing)
    goal, goal_label = goal_of(brief_texts["goal"])
    context = GuardrailContext(
        channel=channel,
        allowed_text=allowed_text(brief_texts["text"], brief_texts["offer"], brief_texts["required_text"],
                                  brief_texts["landing_url"], *product_facts(product)),
        banned_words=banned,
        landing_url=brief_texts["landing_url"],
        language=brief_texts["language"] or "en",
        required_text=brief_texts["required_text"],
        review_texts=reviews,
        goal=goal,
        goal_label=goal_label,
        audience_terms=audience_terms(brief_texts["audience"]),
        template_texts=[text for text in (brief_texts["greeting"], brief_texts["sign_off"]) if text.strip()],
        allowed_domains=settings.CAMPAIGN_LINK_DOMAINS,
    )
    return copy, context


def check_line(number: int, line: str) -> dict[str, Any]:
    """The output row of one JSON line: {"line", "passed", "failures": [{"check", "reason"}]}, or for a
    malformed line {"line", "passed": false, "error"} naming the line, the field and the reason."""
    try:
        copy, context = record_copy(json.loads(line))
    except json.JSONDecodeError as exc:
        return {"line": number, "passed": False, "error": f"line {number}: not valid JSON ({exc.msg} at column "
                                                          f"{exc.colno})"}
    except RecordError as exc:
        where = f"field '{exc.field}': " if exc.field else ""
        return {"line": number, "passed": False, "error": f"line {number}: {where}{exc.reason}"}
    failed = results_of(check_copy(copy, context))
    return {"line": number, "passed": not failed, "failures": failed}


def check_lines(lines: Sequence[str]) -> list[dict[str, Any]]:
    """One output row per non-blank line, in order; `line` is the 1-based line number in the input."""
    return [check_line(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def results_of(rows: Sequence[Result]) -> list[dict[str, Any]]:
    """Failures as the command prints them: {"check", "reason"}."""
    return [{"check": row["check"], "reason": row["detail"]} for row in failures(rows)]
