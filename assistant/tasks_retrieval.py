"""The retrieval tuning job (imported by assistant/tasks.py, where job kinds register). Thin: see tuning.py."""

from __future__ import annotations

from typing import Any

from jobs.runner import JobContext, job_kind

from .tuning import tune_assistant


@job_kind(
    "tune_assistant", queue="inference",
    description="Tune retrieval (method, fusion weight) and the answerability threshold on answered questions.",
)
def tune_assistant_job(ctx: JobContext, name: str | None = None, activate: bool = True) -> dict[str, Any]:
    ctx.stage("tuning retrieval on the shop's answered questions")
    outcome = tune_assistant(name=name, activate=bool(activate), job_id=ctx.job.pk)
    ctx.count(questions=outcome.metrics["questions"], products=outcome.metrics["products"])
    return {
        "version": outcome.version.name,
        "activated": outcome.activated,
        "params": outcome.settings.params(),
        "mrr_at_10": outcome.metrics["mrr_at_10"],
        "gate": outcome.metrics["gate"],
    }
