"""Job kinds of the assistant (jobs.apps autodiscovers this module)."""

from __future__ import annotations

from . import tasks_retrieval  # noqa: F401  (registers tune_assistant)
