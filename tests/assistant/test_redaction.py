"""Emails and phone numbers leave stored text; prices, dates, model and order numbers stay."""

from __future__ import annotations

import pytest

from assistant.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on +44 20 7946 0958 please", "call me on [phone] please"),
        ("my number is (020) 7946-0958", "my number is [phone]"),
        ("555-123-4567", "[phone]"),
        ("555.123.4567 after 6pm", "[phone] after 6pm"),
        ("tel: 555 1234", "tel: [phone]"),
        ("+1 (415) 555-2671", "[phone]"),
        ("0044 20 7946 0958", "[phone]"),
        ("+86-10-1234-5678", "[phone]"),
        ("01 23 45 67 89", "[phone]"),
        ("call 4155552671", "call [phone]"),
        ("电话13812345678谢谢", "电话[phone]谢谢"),
        ("我的手机是 138 1234 5678", "我的手机是 [phone]"),
        ("13912345678", "[phone]"),
        ("555-1234 or 555-5678", "[phone] or [phone]"),
    ],
)
def test_phone_numbers_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email me at john.doe+shop@mail.example.co.uk!", "email me at [email]!"),
        ("A@B.CN", "[email]"),
        ("我的邮箱是wang_li@qq.com，谢谢", "我的邮箱是[email]，谢谢"),
        ("reach me: a.b@c.io or +1 415 555 2671", "reach me: [email] or [phone]"),
    ],
)
def test_emails_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "price $1299.99", "costs ¥ 2 999", "¥3999", "US$ 1 299 000", "1,299.99 dollars",
        "delivered on 2024-03-15", "15.03.2024", "03/15/2024", "from 2019-2023", "2024 12 25",
        "1000-2000 mAh", "10000 mAh battery", "between 10 000 and 20 000 reviews", "3.5 inches",
        "WH-1000XM4", "SM-G991B", "KDL-55W650D", "model 1234567", "ISBN 978-3-16-148410-0",
        "order 12345", "order 2024031500123", "order #123456789", "订单号 13812345678",
        "sizes 38 39 40 41", "version 192.168.1.1", "12 pcs", "4155552671", "", "no digits at all",
        "张三@例子", "@handle", "user@localhost",
    ],
)
def test_what_is_not_personal_data_stays(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    once = redact("mail x@y.com, call +44 20 7946 0958")
    assert redact(once) == once == "mail [email], call [phone]"
