"""Email addresses and phone numbers in text: found (`email_spans`, `phone_spans`, for the copy guardrails)
and replaced by "[email]" and "[phone]" (`redact`, for the assistant's stored text). One detector for both,
so what the assistant removes and what a campaign may not say are the same things. Pure text.

Shoppers type their contact details into the chat ("call me on +44 20 7946 0958"); conversations are logged
and read by staff and quoted back by the assistant, so the stored text never keeps them. What looks like a
phone number but is not one stays: prices ("$1299.99", "¥ 2 999"), dates ("2024-03-15", "15.03.2024"),
ranges and quantities with a unit ("1000-2000 mAh"), model numbers ("WH-1000XM4", "SM-G991B"), IP-like
versions and short order numbers. A bare run of digits counts only when it is a Chinese mobile number
(1[3-9] and 9 more digits) or follows a phone cue ("phone", "call", "电话", ...), so "order 2024031500123"
stays.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
PHONE = "[phone]"

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9])"
)
# "+86 138 1234 5678", "(020) 7946-0958", "555.123.4567", "0044 20 7946 0958", "13812345678"; not glued to
# letters or to a letter-dash prefix (model numbers), one separator (or ") ") between digit groups.
_PHONE_RE = re.compile(
    r"(?<![A-Za-z0-9])(?<![A-Za-z]-)(?<![A-Za-z0-9]\.)"
    r"(?P<plus>\+\s?)?"
    r"(?:\(\s?\d{1,5}\s?\)[\s.-]?)?"
    r"\d+(?:(?:[ .-]|\s?-\s?|\)\s?|\s?\()\d+)*"
    r"(?![A-Za-z0-9])(?!-[A-Za-z])(?!\.\d)"
)
_GROUP_RE = re.compile(r"\d+")
_DATE_RE = re.compile(
    r"(?:(?:19|20)\d\d[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01]))"
    r"|(?:(?:0?[1-9]|[12]\d|3[01])[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:19|20)\d\d)"
    r"|(?:(?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01])[-./ ](?:19|20)\d\d)"
    r"|(?:(?:19|20)\d\d\s?-\s?(?:19|20)\d\d)"
)
_IP_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥￥₹₩]|\b(?:USD|EUR|GBP|RMB|CNY|JPY|HKD|AUD|CAD|US\$|Rs\.?))\s*$", re.I)
_UNIT_AFTER = re.compile(
    r"^\s*(?:%|‰|元|块|円|mah|w|kw|v|mm|cm|m|km|kg|g|mg|ml|l|rpm|hz|khz|mhz|ghz|gb|mb|tb|px|dpi|lm|lux|"
    r"pcs|pieces|items|units|reviews|calories|kcal|hours|hrs|minutes|mins|seconds|secs|days|years|"
    r"dollars|euros|pounds|yuan|usd|eur|gbp|rmb|小时|分钟|天|年|件|个|次|毫安|瓦)(?![A-Za-z])",
    re.I,
)
_PHONE_CUE = re.compile(
    r"(?:phone|tel|telephone|mobile|cell|call|text|sms|whatsapp|wechat|number|no\.|#|"
    r"电话|手机|号码|联系|微信|致电|打给)\W{0,3}[\w\s]{0,12}$",
    re.I,
)
# identifiers that are digits too: order, invoice, tracking, ISBN, serial, model, SKU numbers
_NOT_PHONE_CUE = re.compile(
    r"(?:order|订单|invoice|发票|tracking|快递单|运单|isbn|serial|s/n|sku|asin|model|型号|part)\W{0,3}"
    r"(?:no\.?|number|num|#|号|码)?\W{0,3}$",
    re.I,
)
_CHINESE_MOBILE = re.compile(r"1[3-9]\d{9}")


def _is_phone(text: str, match: re.Match[str]) -> bool:
    candidate = match.group(0)
    groups = _GROUP_RE.findall(candidate)
    digits = sum(len(g) for g in groups)
    if not 7 <= digits <= 15:
        return False
    body = candidate.strip()
    if _DATE_RE.fullmatch(body) or _IP_RE.fullmatch(body):
        return False
    before, after = text[max(0, match.start() - 6):match.start()], text[match.end():match.end() + 12]
    if _CURRENCY_BEFORE.search(before) or _UNIT_AFTER.match(after):
        return False
    if _NOT_PHONE_CUE.search(text[max(0, match.start() - 20):match.start()]):
        return False
    international = bool(match.group("plus")) or candidate.startswith("00") or "(" in candidate
    if international:
        return True
    if len(groups) == 1:
        cue = _PHONE_CUE.search(text[max(0, match.start() - 30):match.start()])
        return bool(_CHINESE_MOBILE.fullmatch(groups[0])) or (bool(cue) and digits >= 8)
    if len(groups) == 2 and all(g.endswith("00") for g in groups):
        return False  # a range of round numbers: "1000-2000"
    if max(len(g) for g in groups) < 3 and len(groups) < 5:
        return False  # sizes or counts: "38 39 40 41"
    return not (re.search(r"\d\.\d", candidate) and len(groups) == 2)  # a decimal with a thousands part


def email_spans(text: str) -> list[tuple[int, int]]:
    """Where the email addresses of `text` are."""
    return [match.span() for match in _EMAIL_RE.finditer(text)] if text else []


def phone_spans(text: str) -> list[tuple[int, int]]:
    """Where the phone numbers of `text` are (prices, dates, versions, model and order numbers are not)."""
    return [match.span() for match in _PHONE_RE.finditer(text) if _is_phone(text, match)] if text else []


def _replace(text: str, spans: list[tuple[int, int]], token: str) -> str:
    out: list[str] = []
    last = 0
    for start, end in spans:
        out += [text[last:start], token]
        last = end
    out.append(text[last:])
    return "".join(out)


def redact(text: str) -> str:
    """`text` with email addresses replaced by "[email]" and phone numbers by "[phone]"."""
    if not text:
        return text
    without_emails = _replace(text, email_spans(text), EMAIL)
    return _replace(without_emails, phone_spans(without_emails), PHONE)
