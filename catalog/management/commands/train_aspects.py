"""`manage.py train_aspects --input FILE`: fine-tune the aspect tagger on labelled aspect terms and
activate it if it beats the serving tagger; see catalog/aspect_training.py."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from catalog.aspect_training import (
    DEFAULT_EPOCHS,
    AspectDataError,
    check_version_name,
    read_aspect_csv,
    stage_for_job,
    train_aspects,
)


class _Bar:
    """A tqdm bar over optimizer steps; the total is known at the first report."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: tqdm[Any] | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Command(BaseCommand):
    help = (
        "Fine-tune the aspect tagger (BIO over word pieces, from the packaged MiniLM encoder) on a CSV of "
        "labelled aspect terms with columns sentence_id, text, aspect_term, from, to (and optionally polarity), "
        "one row per term; a sentence without aspects has one row with the aspect columns empty. Records the "
        "version with precision / recall / F1 on held-out sentences and activates it if it beats the active "
        "tagger on the same sentences."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", metavar="FILE", required=True, help="CSV in the SemEval layout above.")
        parser.add_argument(
            "--epochs", type=int, default=DEFAULT_EPOCHS,
            help="Most passes over the data (default %(default)s; the best on held-out sentences is kept).",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--name", help="Version name (default tagger-<date>-<time>).")
        parser.add_argument("--no-activate", action="store_true", help="Record the version but do not activate it.")
        parser.add_argument("--as-job", action="store_true", help="Run as a background job; print its id.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

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
                self._start_job(opts)
                return
            summary = dataset.summary()
            self.stderr.write(
                f"{summary['sentences']} sentences, {summary['terms']} aspect terms "
                f"({summary['sentences_without_aspects']} sentences without aspects; "
                f"{summary['fixed_offsets']} offsets fixed, {summary['skipped_terms']} terms skipped)"
            )
            bar = _Bar(enabled=not opts["no_progress"] and opts["verbosity"] > 0)
            try:
                outcome = train_aspects(
                    opts["input"], epochs=opts["epochs"], seed=opts["seed"], name=opts["name"],
                    activate=not opts["no_activate"], progress=bar,
                )
            finally:
                bar.close()
        except AspectDataError as exc:
            raise CommandError(str(exc)) from None
        metrics = outcome.metrics
        self.stdout.write(f"version {outcome.version.name} in {outcome.version.path} ({outcome.seconds:.0f} s)")
        if metrics:
            self.stdout.write(
                f"  held-out {metrics.get('validation_sentences', 0)} sentences, exact term match: "
                f"precision {metrics['precision']:.4f}  recall {metrics['recall']:.4f}  F1 {metrics['f1']:.4f}"
            )
        for problem in outcome.problems[:5]:
            self.stdout.write(f"  skipped {problem}")
        if opts["no_activate"]:
            self.stdout.write("not activated (--no-activate)")
        elif outcome.activated:
            versus = f" (active tagger: F1 {outcome.active_f1:.4f})" if outcome.active_f1 is not None else ""
            self.stdout.write(self.style.SUCCESS(f"activated{versus}"))
        else:
            self.stdout.write(
                f"not activated: the active tagger scores F1 {outcome.active_f1:.4f} on the same sentences"
            )

    def _start_job(self, opts: dict[str, Any]) -> None:
        from jobs.runner import start_job

        params = {
            "path": str(stage_for_job(opts["input"])),
            "epochs": opts["epochs"],
            "seed": opts["seed"],
            "name": opts["name"],
            "activate": not opts["no_activate"],
        }
        job = start_job("train_aspects", params)
        self.stdout.write(f"job {job.pk} queued on {job.queue}")
