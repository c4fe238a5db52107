"""The `seed_demo` job kind: the same seeding as `manage.py seed_demo`, started from the admin or API."""

from __future__ import annotations

from typing import Any

from jobs.runner import JobContext, job_kind

from .seed import SeedOptions, seed_shop


@job_kind(
    "seed_demo",
    description="Fill the database with the reproducible demo shop (products, customers, events, reviews).",
)
def seed_demo_job(ctx: JobContext, **options: Any) -> dict[str, Any]:
    """Seed the demo shop; options as for the command (seed, products, customers, events, reviews,
    anchor "YYYY-MM-DD", force). Progress counts written rows per kind.

    Rows are written in one transaction, so progress reported while writing becomes visible to other
    connections only at commit; the planning step before it is reported at once.
    """
    started = False

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal started
        if not started:
            ctx.set_total(total)
            started = True
        if done:
            ctx.advance(done, **{stage: done})

    report = seed_shop(SeedOptions.from_params(options), progress=progress)
    if report.skipped:
        ctx.count(skipped=1)
    return report.as_dict()
