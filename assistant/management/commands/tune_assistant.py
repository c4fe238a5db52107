"""`manage.py tune_assistant`: choose the retrieval method, fusion weight and answerability threshold on the
shop's answered product questions, record them as an "assistant" ModelVersion and activate it when it beats
the active one (see assistant/tuning.py)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.tuning import TuningError, tune_assistant
from jobs.runner import JobParamsError, start_job


class Command(BaseCommand):
    help = (
        "Split the shop's answered product questions (answers of 25+ characters) by product into tuning and "
        "validation halves; choose the fusion weight on tuning, the method (fusion, text, vector, rrf) by MRR@10 "
        "on validation and the answerability threshold by balanced accuracy on validation; record the version "
        "and activate it when it beats the active one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="Version name (default retrieval-<date>-<time>).")
        parser.add_argument("--no-activate", action="store_true", help="Record the version but do not activate it.")
        parser.add_argument("--as-job", action="store_true", help="Run as a background job; print its id.")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["as_job"]:
            try:
                job = start_job("tune_assistant", {"name": opts["name"], "activate": not opts["no_activate"]})
            except JobParamsError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"job {job.pk} queued on {job.queue}")
            return
        try:
            outcome = tune_assistant(name=opts["name"], activate=not opts["no_activate"])
        except TuningError as exc:
            raise CommandError(str(exc)) from None
        m = outcome.metrics
        self.stdout.write(
            f"version {outcome.version.name}: method {outcome.settings.method}, weight {outcome.settings.weight}, "
            f"threshold {outcome.settings.threshold} ({'activated' if outcome.activated else 'not activated'})"
        )
        self.stdout.write(
            f"  validation ({m['validation_questions']} questions): MRR@10 {m['mrr_at_10']:.4f}, "
            f"Recall@1 {m['recall_at_1']:.4f}, Recall@5 {m['recall_at_5']:.4f}; active version "
            f"{m['active_version'] or 'none'} MRR@10 {m['active_version_mrr_at_10']}"
        )
        self.stdout.write("  methods: " + json.dumps(m["methods"]))
        self.stdout.write("  gate: " + json.dumps(m["gate"]))
