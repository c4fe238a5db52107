"""What a message of each channel is made of: its labelled fields, their character limits, and `Copy`, the
fields of one piece of copy. Plain values (channels by their stored value, "email", "sms", "push"), no
Django, so the prompts, the guardrails and the review workflow all read the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EMAIL, SMS, PUSH = "email", "sms", "push"  # the values of campaigns.models.Campaign.Channel

# --- Channel limits (characters) -------------------------------------------------------------------------
EMAIL_SUBJECT_MAX = 78  # what most clients show before cutting; also RFC 5322's recommended line length
EMAIL_PREHEADER_MAX = 100
EMAIL_BODY_MAX = 1200  # a short marketing email; a 0.5B model on CPU writes about 8 tokens/s
EMAIL_BODY_TARGET_WORDS = (50, 110)
SMS_MAX = 160  # one GSM-7 segment, required text included
PUSH_TITLE_MAX = 50
PUSH_BODY_MAX = 178  # what iOS shows on the lock screen

LIMITS: dict[str, dict[str, int]] = {
    EMAIL: {"subject": EMAIL_SUBJECT_MAX, "preheader": EMAIL_PREHEADER_MAX, "body": EMAIL_BODY_MAX},
    SMS: {"body": SMS_MAX},
    PUSH: {"subject": PUSH_TITLE_MAX, "body": PUSH_BODY_MAX},
}
# Flesch-Kincaid grade the body may reach (inference.text_checks.reading_grade, English only): plain copy
# scores 4-8, a run-on sentence of long words 20 and more
READING_GRADE_MAX: dict[str, float] = {EMAIL: 10, SMS: 10, PUSH: 10}
# Output labels per channel, in order; push calls its subject TITLE.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    EMAIL: (("SUBJECT", "subject"), ("PREHEADER", "preheader"), ("BODY", "body")),
    SMS: (("BODY", "body"),),
    PUSH: (("TITLE", "subject"), ("BODY", "body")),
}


@dataclass
class Copy:
    """Parsed model output (or a stored variant's text). `subject` is the email subject or the push title."""

    subject: str = ""
    preheader: str = ""
    body: str = ""
    missing: list[str] = field(default_factory=list)  # labels the output lacked

    def text(self) -> str:
        return "\n".join(part for part in (self.subject, self.preheader, self.body) if part)
