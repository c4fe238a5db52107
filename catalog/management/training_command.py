"""What the `train_sentiment` and `train_aspects` commands share: the options of a run (seed, version
name, activation, background job, progress bar), the progress bar, and queueing the run as a job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.progress import TqdmProgress
from jobs.runner import JobParamsError, start_job


class TrainingCommand(BaseCommand):
    job_kind: str  # what `--as-job` queues
    version_prefix: str  # default version names are <prefix>-<date>-<time>
    progress_unit: str  # what the progress bar counts

    def add_run_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--name", help=f"Version name (default {self.version_prefix}-<date>-<time>).")
        parser.add_argument("--no-activate", action="store_true", help="Record the version but do not activate it.")
        parser.add_argument("--as-job", action="store_true", help="Run as a background job; print its id.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

    def run_params(self, opts: dict[str, Any]) -> dict[str, Any]:
        """The job parameters the run options become."""
        return {"seed": opts["seed"], "name": opts["name"], "activate": not opts["no_activate"]}

    def progress_bar(self, opts: dict[str, Any]) -> TqdmProgress:
        disabled = opts["no_progress"] or opts["verbosity"] < 1
        return TqdmProgress(self.progress_unit, disable=disabled, dynamic_ncols=True)

    def queue_job(self, params: dict[str, Any]) -> None:
        try:
            job = start_job(self.job_kind, params)
        except JobParamsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"job {job.pk} queued on {job.queue}")
