"""Job kinds and Celery tasks of the assistant. Thin: the work is in `indexing` and `tuning`."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from catalog.model_versions import new_version_name
from catalog.models import ModelRole
from core.actors import Actor
from jobs.models import Job
from jobs.runner import JobContext, job_kind, start_unless_queued

from .indexing import index_knowledge, knowledge_changed
from .tuning import NotEnoughQuestions, tune_assistant

INDEX_JOB = "index_knowledge"


@job_kind(
    INDEX_JOB, queue="inference",
    description="Embed and index the assistant's knowledge (products, Q&A, articles, review insight) that changed.",
)
def index_knowledge_job(
    ctx: JobContext, kinds: list[str] | None = None, source_ids: list[int] | None = None, force: bool = False
) -> dict[str, Any]:
    """Index what changed (or the given sources of one kind); counts are recorded as the work advances."""
    if source_ids is not None and not isinstance(source_ids, list):
        raise ValueError(f"source_ids={source_ids!r} must be a list of ids")
    return index_knowledge(kinds, source_ids, force=bool(force), progress=ctx)


def request_knowledge_index(user: Actor = None) -> Job | None:
    """Start an index run after knowledge changed, unless one is already queued (it will see the change)."""
    return start_unless_queued(INDEX_JOB, user)


@shared_task(name="assistant.request_knowledge_index")
def request_knowledge_index_task() -> int | None:
    """Beat entry point, the safety net behind the signals: start a run only when something changed."""
    if not knowledge_changed():
        return None
    job = request_knowledge_index()
    return None if job is None else job.pk


@job_kind(
    "tune_assistant", queue="inference",
    description="Tune retrieval (method, fusion weight) and the answerability threshold on answered questions.",
    checks={"name": new_version_name(ModelRole.ASSISTANT, "an assistant version")},
)
def tune_assistant_job(
    ctx: JobContext, name: str | None = None, activate: bool = True, skip_if_too_few: bool = False
) -> dict[str, Any]:
    """Tune and (when better) activate; `skip_if_too_few` ends a shop too small to tune as a success that
    says why (the demo's small runs), instead of a failed job: the defaults keep serving either way."""
    ctx.stage("tuning retrieval on the shop's answered questions")
    try:
        outcome = tune_assistant(name=name, activate=bool(activate), job_id=ctx.job.pk)
    except NotEnoughQuestions as exc:
        if not skip_if_too_few:
            raise
        return {"skipped": str(exc)}
    ctx.count(questions=outcome.metrics["questions"], products=outcome.metrics["products"])
    return {
        "version": outcome.version.name,
        "activated": outcome.activated,
        "params": outcome.settings.params(),
        "mrr_at_10": outcome.metrics["mrr_at_10"],
        "gate": outcome.metrics["gate"],
    }
