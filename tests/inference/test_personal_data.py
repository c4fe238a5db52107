"""One email and phone detector (`inference.personal_data`) for the assistant's redaction and the copy
guardrails: the same text is found by both."""

from __future__ import annotations

import pytest

from assistant.redaction import redact
from campaigns.channels import Copy
from campaigns.guardrails import GuardrailContext, check_contact_details
from inference.personal_data import email_spans, phone_spans

POSITIVES = ["Mail jane.doe+shop@example.co.uk today", "Call +44 20 7946 0958", "Ring (020) 7946-0958",
             "phone 555.123.4567", "电话 13812345678"]
NEGATIVES = ["Only $1299.99", "Rated 4.5 stars", "v2.0 is out", "on 2024-03-15", "open at 10.30",
             "model WH-1000XM4", "order 2024031500123", "sizes 38 39 40 41", "1000-2000 mAh", "e.g. this"]


@pytest.mark.parametrize("text", POSITIVES)
def test_found_by_both(text: str) -> None:
    assert email_spans(text) or phone_spans(text)
    assert redact(text) != text
    row = check_contact_details(Copy(body=text), GuardrailContext(channel="sms"))
    assert not row["passed"], text


@pytest.mark.parametrize("text", NEGATIVES)
def test_left_alone_by_both(text: str) -> None:
    assert email_spans(text) == [] and phone_spans(text) == []
    assert redact(text) == text
    row = check_contact_details(Copy(body=text), GuardrailContext(channel="sms"))
    assert row["passed"], (text, row["detail"])


def test_the_guardrails_have_no_detector_of_their_own() -> None:
    import campaigns.guardrails as guardrails

    assert not hasattr(guardrails, "_EMAIL") and not hasattr(guardrails, "_PHONE")
