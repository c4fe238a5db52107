"""`manage.py train_sentiment`: fine-tune the sentiment model on rated reviews (the database, or a file)
and activate it if it beats the serving model; see catalog/sentiment_training.py."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.management.training_command import TrainingCommand
from catalog.sentiment_data import SentimentDataError, load_training_data
from catalog.sentiment_training import outcome_summary, stage_for_job, train_and_register


class Command(TrainingCommand):
    help = (
        "Fine-tune the sentiment model (negative / neutral / positive) on rated reviews: from the database, "
        "or from a CSV / JSON Lines file with --input. The stars are learnt as an ordered target (1-2 stars "
        "negative, 3 neutral, 4-5 positive, thresholds chosen on validation) on every rated review, for "
        "several passes with early stopping. The new "
        "version is recorded with its validation scores and activated only if it beats the serving model "
        "(the active version, or the prototype classifier) on the same validation reviews."
    )
    job_kind = "train_sentiment"
    version_prefix = "sentiment"
    progress_unit = "batch"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", metavar="FILE", help="CSV, TSV or JSON Lines file (optionally .gz).")
        parser.add_argument("--text-column", help="Column holding the review text (with --input).")
        parser.add_argument("--rating-column", help="Column holding the 1-5 rating (or 0/1 with --binary-labels).")
        parser.add_argument("--title-column", help="Optional column holding the review title.")
        parser.add_argument(
            "--binary-labels", action="store_true", help="The rating column holds 0 (negative) / 1 (positive)."
        )
        parser.add_argument(
            "--epochs", type=int, help="Passes at most over the training reviews (default 2 on CPU, 4 on GPU)."
        )
        parser.add_argument(
            "--patience", type=int, default=1,
            help="Stop after this many passes without a validation gain; the best pass is kept (default 1).",
        )
        parser.add_argument(
            "--max-per-class", type=int, help="Optional cap of training reviews per class (default: every review)."
        )
        parser.add_argument(
            "--validation-fraction", type=float, default=0.15, help="Share held out to validate (default 0.15)."
        )
        self.add_run_arguments(parser)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["input"] and not (opts["text_column"] and opts["rating_column"]):
            raise CommandError("--input needs --text-column and --rating-column")
        if not opts["input"] and (opts["text_column"] or opts["rating_column"] or opts["title_column"]):
            raise CommandError("--text-column, --rating-column and --title-column go with --input FILE")
        try:
            if opts["as_job"]:
                self._queue(opts)
                return
            data = load_training_data(
                opts["input"], text_column=opts["text_column"], rating_column=opts["rating_column"],
                title_column=opts["title_column"], binary_labels=opts["binary_labels"],
            )
            self.stderr.write(f"{len(data.texts)} rated reviews from {data.source}: {data.counts}"
                              + (f"; {data.skipped} rows skipped" if data.skipped else ""))
            with self.progress_bar(opts) as progress:
                outcome = train_and_register(
                    data, name=opts["name"], epochs=opts["epochs"], max_per_class=opts["max_per_class"],
                    patience=opts["patience"], validation_fraction=opts["validation_fraction"], seed=opts["seed"],
                    activate=not opts["no_activate"], progress=progress,
                )
        except SentimentDataError as exc:
            raise CommandError(str(exc)) from None
        summary = outcome_summary(outcome)
        metrics, serving = summary["metrics"], summary["serving_metrics"] or {}
        self.stdout.write(f"version {outcome.version.name} in {outcome.version.path} ({outcome.seconds:.0f} s)")
        for key in ("macro_f1", "accuracy", "binary_macro_f1", "binary_accuracy"):
            versus = f"   {outcome.compared_with}: {serving[key]:.4f}" if key in serving else ""
            self.stdout.write(f"  {key:<16} {metrics[key]:.4f}{versus}")
        for problem in outcome.problems[:5]:
            self.stdout.write(f"  skipped {problem}")
        if opts["no_activate"]:
            self.stdout.write("not activated (--no-activate)")
        elif outcome.activated:
            self.stdout.write(self.style.SUCCESS(f"activated: it beats {outcome.compared_with} on {outcome.metric}"))
        else:
            self.stdout.write(f"not activated: {outcome.compared_with} stays, it scores as well or better on "
                              f"{outcome.metric}")

    def _queue(self, opts: dict[str, Any]) -> None:
        params: dict[str, Any] = {
            "epochs": opts["epochs"], "max_per_class": opts["max_per_class"], "patience": opts["patience"],
            "validation_fraction": opts["validation_fraction"], **self.run_params(opts),
        }
        if opts["input"]:
            params.update(
                path=str(stage_for_job(opts["input"])), text_column=opts["text_column"],
                rating_column=opts["rating_column"], title_column=opts["title_column"],
                binary_labels=opts["binary_labels"],
            )
        self.queue_job(params)
