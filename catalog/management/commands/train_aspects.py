"""`manage.py train_aspects --input FILE`: fine-tune the aspect tagger on labelled aspect terms and
activate it if it beats the serving tagger; see catalog/aspect_training.py."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.aspect_training import (
    DEFAULT_EPOCHS,
    AspectDataError,
    check_version_name,
    read_aspect_csv,
    stage_for_job,
    train_aspects,
)
from catalog.management.training_command import TrainingCommand


class Command(TrainingCommand):
    help = (
        "Fine-tune the aspect tagger (BIO over word pieces, from the packaged MiniLM encoder) on a CSV of "
        "labelled aspect terms with columns sentence_id, text, aspect_term, from, to (and optionally polarity), "
        "one row per term; a sentence without aspects has one row with the aspect columns empty. With "
        "polarities (negative, neutral, positive; conflict is not trained on) a polarity head trains with the "
        "tagger. Records the version with precision / recall / F1 (and polarity accuracy / macro-F1 on the "
        "gold terms) on held-out sentences and activates it if its F1 beats the active tagger on the same "
        "sentences."
    )
    job_kind = "train_aspects"
    version_prefix = "tagger"
    progress_unit = "step"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", metavar="FILE", required=True, help="CSV in the SemEval layout above.")
        parser.add_argument(
            "--epochs", type=int, default=DEFAULT_EPOCHS,
            help="Most passes over the data (default %(default)s; the best on held-out sentences is kept).",
        )
        self.add_run_arguments(parser)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["epochs"] < 1:
            raise CommandError("--epochs must be at least 1")
        try:
            if opts["name"]:
                check_version_name(opts["name"])
            dataset = read_aspect_csv(opts["input"])  # fail here, before any job or model is started
            if dataset.term_count == 0:
                raise AspectDataError(f"{opts['input']}: no usable aspect terms")
            if opts["as_job"]:
                self.queue_job(
                    {"path": str(stage_for_job(opts["input"])), "epochs": opts["epochs"], **self.run_params(opts)}
                )
                return
            summary = dataset.summary()
            self.stderr.write(
                f"{summary['sentences']} sentences, {summary['terms']} aspect terms "
                f"({summary['sentences_without_aspects']} sentences without aspects; "
                f"{summary['fixed_offsets']} offsets fixed, {summary['skipped_terms']} terms skipped)"
            )
            with self.progress_bar(opts) as progress:
                outcome = train_aspects(
                    opts["input"], epochs=opts["epochs"], seed=opts["seed"], name=opts["name"],
                    activate=not opts["no_activate"], progress=progress,
                )
        except AspectDataError as exc:
            raise CommandError(str(exc)) from None
        metrics = outcome.metrics
        self.stdout.write(f"version {outcome.version.name} in {outcome.version.path} ({outcome.seconds:.0f} s)")
        if metrics:
            self.stdout.write(
                f"  held-out {metrics.get('validation_sentences', 0)} sentences, exact term match: "
                f"precision {metrics['precision']:.4f}  recall {metrics['recall']:.4f}  F1 {metrics['f1']:.4f}"
            )
        if "polarity_accuracy" in metrics:
            self.stdout.write(
                f"  polarity head on {metrics['polarity_terms']} held-out gold terms: "
                f"accuracy {metrics['polarity_accuracy']:.4f}  macro-F1 {metrics['polarity_macro_f1']:.4f}"
            )
        elif metrics:
            self.stdout.write("  no polarity head (no polarity labels): mentions take their clause's sentiment")
        if outcome.metric == "end_to_end_f1":
            end_to_end = outcome.version.metrics["end_to_end_f1"]
            self.stdout.write(f"  end to end (term and polarity right): F1 {end_to_end:.4f}")
        for problem in outcome.problems[:5]:
            self.stdout.write(f"  skipped {problem}")
        if opts["no_activate"]:
            self.stdout.write("not activated (--no-activate)")
        elif outcome.activated:
            versus = (f" (active tagger: {outcome.metric} {outcome.active_f1:.4f})"
                      if outcome.active_f1 is not None else "")
            self.stdout.write(self.style.SUCCESS(f"activated{versus}"))
        else:
            self.stdout.write(
                f"not activated: the active tagger scores {outcome.metric} {outcome.active_f1:.4f} on the same "
                "sentences"
            )
