"""`manage.py train_sentiment`: train the sentiment model of a language on rated or labelled reviews (the
database, one model per language, or a file) and activate it if it beats the model serving that
language; see catalog/sentiment_training.py."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.management.training_command import TrainingCommand
from catalog.sentiment_data import SentimentDataError, load_database_by_language, load_training_data
from catalog.sentiment_training import (
    SentimentTrainingOutcome,
    outcome_summary,
    stage_for_job,
    train_and_register,
    train_languages,
)


class Command(TrainingCommand):
    help = (
        "Train the sentiment model (negative / neutral / positive) of a language on rated reviews: from the "
        "database (one model per language with enough rated reviews), or from a CSV / JSON Lines file with "
        "--input. English (and other Latin-script languages) fine-tunes the encoder on the stars as an ordered "
        "target (1-2 stars negative, 3 neutral, 4-5 positive, thresholds chosen on validation), on every rated "
        "review, for several passes with early stopping; --label-column reads positive/negative labels instead. "
        "Chinese and other scripts the encoder does not read train a character n-gram model in seconds. The new "
        "version is recorded with its validation scores and activated only if it beats the model serving its "
        "language (its active version, the English model, or the prototype classifier) on the same validation "
        "reviews."
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
            "--label-column",
            help="Column holding a label (positive/negative, 1/0 or true/false), instead of --rating-column.",
        )
        parser.add_argument(
            "--language",
            help="Language of the reviews (en, zh...; default: the majority language of the file). Without "
            "--input: train only this language's model.",
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
        if opts["rating_column"] and opts["label_column"]:
            raise CommandError("give --rating-column or --label-column, not both")
        if opts["input"] and not (opts["text_column"] and (opts["rating_column"] or opts["label_column"])):
            raise CommandError("--input needs --text-column and --rating-column (or --label-column)")
        if not opts["input"] and (
            opts["text_column"] or opts["rating_column"] or opts["title_column"] or opts["label_column"]
        ):
            raise CommandError(
                "--text-column, --rating-column, --label-column and --title-column go with --input FILE"
            )
        language = (opts["language"] or "").split("-")[0].lower() or None
        options = {
            "epochs": opts["epochs"], "max_per_class": opts["max_per_class"], "patience": opts["patience"],
            "validation_fraction": opts["validation_fraction"], "seed": opts["seed"],
            "activate": not opts["no_activate"],
        }
        try:
            if opts["as_job"]:
                self._queue(opts)
                return
            if not opts["input"] and language is None:  # the shop's reviews: a model per language
                sets = load_database_by_language()
                for data in sets.values():
                    self._describe(data)
                with self.progress_bar(opts) as progress:
                    result = train_languages(sets, name=opts["name"], progress=progress, **options)
                for language_name, reason in result.refused.items():
                    self.stdout.write(f"[{language_name}] not trained: {reason}")
                for outcome in result.outcomes:
                    self._report(outcome, opts)
                return
            data = load_training_data(
                opts["input"], text_column=opts["text_column"], rating_column=opts["rating_column"],
                title_column=opts["title_column"], binary_labels=opts["binary_labels"],
                label_column=opts["label_column"], language=language,
            )
            self._describe(data)
            with self.progress_bar(opts) as progress:
                outcome = train_and_register(data, name=opts["name"], progress=progress, **options)
        except SentimentDataError as exc:
            raise CommandError(str(exc)) from None
        self._report(outcome, opts)

    def _describe(self, data: Any) -> None:
        self.stderr.write(f"{len(data.texts)} rated reviews in {data.language or '?'} from {data.source}: "
                          f"{data.counts}" + (f"; {data.skipped} rows skipped" if data.skipped else ""))

    def _report(self, outcome: SentimentTrainingOutcome, opts: dict[str, Any]) -> None:
        summary = outcome_summary(outcome)
        metrics, serving = summary["metrics"], summary["serving_metrics"] or {}
        self.stdout.write(f"version {outcome.version.name} ({outcome.language}, {outcome.kind}) in "
                          f"{outcome.version.path} ({outcome.seconds:.1f} s)")
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
        if opts["language"]:
            params["language"] = opts["language"]
        if opts["input"]:
            params.update(
                path=str(stage_for_job(opts["input"])), text_column=opts["text_column"],
                rating_column=opts["rating_column"], title_column=opts["title_column"],
                binary_labels=opts["binary_labels"],
            )
            if opts["label_column"]:
                params["label_column"] = opts["label_column"]
        self.queue_job(params)
