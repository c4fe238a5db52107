"""The `seed_demo` job kind: the same seeding as `manage.py seed_demo`, started from the admin or API."""

from __future__ import annotations

from typing import Any

from jobs.runner import JobContext, job_kind, start_job

from .campaign import prepare_demo_campaign
from .seed import SeedOptions, seed_shop


@job_kind(
    "seed_demo",
    description="Fill the database with the reproducible demo shop (products, customers, events, reviews).",
    validate=SeedOptions.from_params,
)
def seed_demo_job(ctx: JobContext, **options: Any) -> dict[str, Any]:
    """Seed the demo shop; options as for the command (seed, products, customers, events, reviews,
    anchor "YYYY-MM-DD", force). Progress counts written rows per kind.

    Rows are written in one transaction, so progress reported while writing becomes visible to other
    connections only at commit; the total, known once the shop is planned, is reported at once.
    """
    report = seed_shop(SeedOptions.from_params(options), progress=ctx)
    if report.skipped:
        ctx.count(skipped=1)
    return report.as_dict()


@job_kind("demo_campaign", description="Give the demo campaign its product and start generating its copy.")
def demo_campaign_job(ctx: JobContext) -> dict[str, Any]:
    campaign = prepare_demo_campaign()
    if campaign is None:
        return {"generation": "skipped: the demo campaign is missing or already has copy"}
    job = start_job("generate_campaign", {"campaign_id": campaign.pk})
    return {"campaign": campaign.pk, "generation_job": job.pk}
