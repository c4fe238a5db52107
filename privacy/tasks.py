"""Job kind of privacy: a customer's erasure (queue `default`: database work only). Thin: the work is in
erasure.py."""

from __future__ import annotations

from typing import Any

from jobs.runner import JobContext, job_kind

from .erasure import ERASE_JOB, check_erase, erase_customer


@job_kind(
    ERASE_JOB,
    description="Erase one customer's personal data: delete what is only about them, anonymise what the shop "
    "keeps (orders, experiment assignments), leave a tombstone. The result lists the counts per table.",
)
def erase_customer_job(ctx: JobContext, customer_id: int) -> dict[str, Any]:
    # A job started through the generic jobs API is checked here too: only someone who may erase can.
    creator = ctx.job.created_by
    if creator is not None:
        check_erase(creator)
    ctx.stage(f"erasing customer {customer_id}")
    report = erase_customer(int(customer_id), actor=creator)
    ctx.count(deleted=sum(report["deleted"].values()), anonymised=sum(report["anonymised"].values()))
    return report
