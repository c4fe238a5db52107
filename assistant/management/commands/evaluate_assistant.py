"""`manage.py evaluate_assistant`: retrieval (full-text, vector, rrf, fusion) and the answerability gate on a
question-and-answer file; the shop's data is untouched (the file's answers live in a rolled-back transaction)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.evaluation import SCOPES, EvaluationInputError, evaluate, read_qa_file, table
from assistant.retrieval import TEXT_RANKS, RetrievalSettings
from inference import registry


class Command(BaseCommand):
    help = (
        "For every question whose answer has 25 or more characters, rank all such answers of its group (or of "
        "the whole file with --scope store) and report MRR@k, Recall@1 and Recall@5 for full-text, vector, "
        "reciprocal-rank fusion and the weighted fusion (its weight cross-fitted over groups), the hand-off "
        "rate with each question's answer removed and present, and retrieval latency."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="CSV file with a header line.")
        parser.add_argument("--question-column", required=True)
        parser.add_argument("--answer-column", required=True)
        parser.add_argument("--group-column", required=True, help="What groups answers (the product: asin).")
        parser.add_argument("--k", type=int, default=10, help="Depth of MRR (default 10).")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--scope", choices=SCOPES, default="group")
        parser.add_argument("--text-rank", choices=TEXT_RANKS, help="PostgreSQL ranking function (default: serving's).")
        parser.add_argument("--normalization", type=int, help="Its normalisation bitmask (default: serving's).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["k"] < 1:
            raise CommandError(f"--k {options['k']}: must be at least 1")
        base = RetrievalSettings()
        if options["text_rank"]:
            base = replace(base, text_rank=options["text_rank"])
        if options["normalization"] is not None:
            if not 0 <= options["normalization"] <= 63:
                raise CommandError(f"--normalization {options['normalization']}: a bitmask from 0 to 63")
            base = replace(base, normalization=options["normalization"])
        try:
            qa = read_qa_file(
                options["input"], options["question_column"], options["answer_column"], options["group_column"]
            )
            report = evaluate(
                qa, scope=options["scope"], k=options["k"], embed_texts=registry.embedder().encode, base=base
            )
        except EvaluationInputError as exc:
            raise CommandError(str(exc)) from None
        report = {"input": str(options["input"]), **report}
        if options["format"] == "json":
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(table(report))
