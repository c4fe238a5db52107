"""The single Celery entry point for jobs: it takes an id and hands over to jobs.runner."""

from __future__ import annotations

from celery import Task, shared_task

from . import runner


@shared_task(bind=True, name="jobs.run_job")
def run_job(self: Task, job_id: int) -> str | None:
    delivery_info = getattr(self.request, "delivery_info", None) or {}
    status = runner.execute(job_id, redelivered=bool(delivery_info.get("redelivered")))
    return None if status is None else str(status)
