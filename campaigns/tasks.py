"""Job kinds and beat tasks of campaigns. Thin: the work is in the domain modules (generation.py,
delivery.py, thompson.py) and every status move in `campaigns.actions`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import shared_task
from django.utils import timezone

from catalog.model_versions import new_version_name
from catalog.models import ModelRole
from jobs.chunks import ChunkContext, Plan, chunk_size, id_ranges
from jobs.params import between
from jobs.runner import Chunked, JobContext, job_kind

from . import actions, delivery, generation, thompson, uplift
from .models import Campaign


@job_kind(
    actions.GENERATE_JOB, queue="generation", description="Copy variants of a campaign, under guardrails.",
    checks={"campaign_id": between(1, 2**63 - 1)},
)
def generate_campaign_job(ctx: JobContext, campaign_id: int, force: bool = False) -> dict[str, Any]:
    """Generate the campaign's missing variants (all unapproved ones with `force`).

    `actions.do_generate` moved the campaign to generating before queueing this job (a job started otherwise
    takes that step itself); at the end it goes to in review, or back to draft with the error as the note
    when generation fails, so the manager can fix the brief and retry."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise ValueError(f"campaign {campaign_id} does not exist")
    job = ctx.job.pk
    actions.do_begin_generation_job(campaign, job)
    try:
        counts = generation.generate_variants(campaign, progress=ctx, force=force)
    except Exception as exc:
        actions.do_end_generation(campaign, f"generation failed (job {job}): {exc}", failed=True)
        raise
    if campaign.variants.exists():
        note = f"job {job}: {counts.get('generated', 0)} variant(s) written, {counts.get('flagged', 0)} flagged"
    else:
        note = f"job {job}: no variant was written"
    actions.do_end_generation(campaign, note)
    return counts


SEND_CHUNK_SIZE = 1_000  # messages per chunk task (JOB_CHUNK_SIZE overrides); claimed BATCH_SIZE at a time


def _send_chunk(ctx: ChunkContext, campaign_id: int, start: str, first: int, last: int, size: int = 0,
                **planned: int) -> dict[str, int]:
    """One range of message ids; each message is claimed once, so a chunk run twice sends nothing twice."""
    campaign = Campaign.objects.get(pk=campaign_id)
    return delivery.send_messages(campaign, datetime.fromisoformat(start), first, last, progress=ctx)


def _send_finish(ctx: JobContext, campaign_id: int, start: str, **planned: int) -> dict[str, Any]:
    campaign = Campaign.objects.get(pk=campaign_id)
    sent = {key: ctx.job.counts.get(key, 0) for key in ("sent", "skipped", "failed")}
    return {**planned, **sent, **delivery.send_outcome(campaign, datetime.fromisoformat(start))}


@job_kind(
    actions.SEND_JOB,
    queue="default",
    description="Send an approved campaign: assign arms, one message per customer, email or webhook/export.",
    checks={"campaign_id": between(1, 2**63 - 1)},
    chunks=Chunked(run=_send_chunk, finish=_send_finish),
)
def send_campaign_job(ctx: JobContext, campaign_id: int, confirmation: int | None = None) -> Plan:
    """Send the running campaign (`actions.do_start_sending` started it) to everyone not reached yet; a job
    the step did not queue refuses (`actions.check_send_job`). Plans: the audience assigned and its messages
    queued here, then chunk tasks of message-id ranges (`JOB_CHUNK_SIZE`, default 1,000)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    actions.check_send_job(campaign, ctx.job.pk, confirmation)
    start = timezone.now()
    planned = delivery.prepare_send(campaign, start)
    ids = delivery.due_message_ids(campaign, start)
    ctx.set_total(len(ids))
    shared = {"campaign_id": campaign.pk, "start": start.isoformat(), **planned}
    return Plan(id_ranges(ids, chunk_size(SEND_CHUNK_SIZE)), shared)


@job_kind(
    "train_uplift",
    queue="default",
    description="Uplift model of an experiment's offer vs its control: held-out Qini, top slices, scores.",
    checks={"experiment": uplift.get_experiment, "name": new_version_name(ModelRole.UPLIFT, "an uplift model")},
)
def train_uplift_job(
    ctx: JobContext, experiment: int, arm: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """Train, evaluate and store the uplift model of `experiment` (`campaigns.uplift`); an experiment too small
    or without a control fails with the reason and the sample needed, writing nothing."""
    return uplift.train_uplift(experiment, arm=arm, name=name, job_id=ctx.job.pk, progress=ctx)


@shared_task(name="campaigns.reweight_experiments")
def reweight_experiments_task() -> int:
    """Beat entry point: re-weight the Thompson experiments that are due (cheap when none is)."""
    return thompson.reweight_due()


@shared_task(name="campaigns.dispatch_due_messages")
def dispatch_due_messages_task() -> dict[str, int]:
    """Beat entry point, every minute: send the scheduled messages that are due (`delivery.dispatch_due`)."""
    return delivery.dispatch_due()
