"""A `Job` row records every background job: what, with which parameters, how far, and how it ended."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Progressing:
    """What a job and a chunk share: the fraction done from their status and progress counters."""

    status: str
    progress_done: int
    progress_total: int | None

    @property
    def progress(self) -> float | None:
        """Fraction done in [0, 1], or None while the total is unknown."""
        if self.status == JobStatus.SUCCEEDED:
            return 1.0
        if not self.progress_total:
            return None
        return min(1.0, self.progress_done / self.progress_total)


class Job(Progressing, models.Model):
    kind = models.CharField(max_length=64, db_index=True, help_text="Registered job kind, e.g. import_data.")
    params = models.JSONField(default=dict, blank=True, help_text="Arguments of the job (JSON).")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    queue = models.CharField(max_length=32, default="default")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Outcome counters, e.g. created/updated.")
    result = models.JSONField(default=dict, blank=True, help_text="Details such as rejected rows.")
    error = models.TextField(blank=True, help_text="Why the job failed, in a sentence the manager can act on.")
    traceback = models.TextField(blank=True, help_text="Where it failed (superusers only; never in the API).")
    attempts = models.PositiveIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    plan = models.JSONField(
        null=True, blank=True, help_text="A chunked job's plan once made: chunk count and what every chunk shares."
    )
    finish_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a chunked job's finish step was claimed (it runs once)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class JobChunk(Progressing, models.Model):
    """One slice of a chunked job, run by its own Celery task (`jobs.run_chunk`) on any worker.

    Claimed by compare-and-set like a job, so a duplicate delivery does nothing; its work is idempotent, so a
    chunk run again after its worker died changes nothing twice. The job's progress and counts are the sums
    of its chunks'."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    params = models.JSONField(default=dict, blank=True, help_text="What this chunk covers (ids, a range, rows).")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What the finish step reads (e.g. rejected rows).")
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="jobs_chunk_unique_index")]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id} ({self.status})"

