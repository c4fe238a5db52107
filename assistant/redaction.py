"""Personal data out of the assistant's stored text: the one detector lives in `inference.personal_data`
(the campaign guardrails use it too); this name stays for the assistant's modules."""

from inference.personal_data import EMAIL, PHONE, redact

__all__ = ["EMAIL", "PHONE", "redact"]
