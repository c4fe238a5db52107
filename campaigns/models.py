"""Campaigns. This first model is grown by the campaigns issue (audience, variants, experiments)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Campaign(models.Model):
    class Goal(models.TextChoices):
        AWARENESS = "awareness", "Awareness"
        CONVERSION = "conversion", "Conversion"
        RETENTION = "retention", "Retention"
        WINBACK = "winback", "Win back lapsed customers"
        CROSS_SELL = "cross_sell", "Cross-sell"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        PUSH = "push", "Push notification"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        GENERATING = "generating", "Generating"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"

    name = models.CharField(max_length=200)
    goal = models.CharField(max_length=32, choices=Goal.choices, default=Goal.CONVERSION)
    brief = models.TextField(blank=True, help_text="What the campaign should achieve, in the manager's words.")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    brand_voice = models.TextField(blank=True, help_text="Tone and style the copy must follow.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name
