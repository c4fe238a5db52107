"""Job kinds of campaigns. Thin: the work is in the domain modules (generation.py, delivery.py, experiments.py)."""

from __future__ import annotations

from typing import Any

from jobs.runner import JobContext, job_kind

from . import generation

# Job kinds and beat tasks defined beside their domain code register on import.
from . import delivery, experiments  # noqa: F401  isort: skip
from .models import Campaign
from .workflow import do_transition


@job_kind("generate_campaign", queue="inference", description="Copy variants of a campaign, under guardrails.")
def generate_campaign_job(ctx: JobContext, campaign_id: int, force: bool = False) -> dict[str, Any]:
    """Generate the campaign's missing variants (all unapproved ones with `force`).

    Moves the campaign to generating (unless it already is), and to in review at the end; when generation
    fails it goes back to draft with the error as the note, so the manager can fix the brief and retry."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise ValueError(f"campaign {campaign_id} does not exist")
    generation.check_can_generate(campaign)
    if campaign.status != Campaign.Status.GENERATING:
        if campaign.status == Campaign.Status.IN_REVIEW:  # in_review -> generating is no edge: via draft
            do_transition(campaign, Campaign.Status.DRAFT, note=f"regenerating (job {ctx.job.pk})")
        do_transition(campaign, Campaign.Status.GENERATING, note=f"job {ctx.job.pk}")
    try:
        counts = generation.generate_variants(campaign, progress=ctx, force=force)
    except Exception as exc:
        do_transition(campaign, Campaign.Status.DRAFT, note=f"generation failed (job {ctx.job.pk}): {exc}"[:2000])
        raise
    if campaign.variants.exists():
        do_transition(campaign, Campaign.Status.IN_REVIEW, note=f"job {ctx.job.pk}: {counts.get('generated', 0)} "
                      f"variant(s) written, {counts.get('flagged', 0)} flagged")
    else:
        do_transition(campaign, Campaign.Status.DRAFT, note=f"job {ctx.job.pk}: no variant was written")
    return counts
