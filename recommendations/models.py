"""Precomputed recommendations: what the batch job ranked for each customer of an audience."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class RecommendationSet(models.Model):
    """The top-k products for one customer, as the hybrid ranker produced them.

    `items` keeps rank order: [{"product": id, "sku", "score", "reason", "reason_source", "sources": {source: rank}}]
    (`reason_source` is absent from rows precomputed before it was stored).
    A campaign reads these at send time instead of ranking live; a rebuild overwrites the row.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="recommendations"
    )
    items = models.JSONField(default=list)
    model_version = models.ForeignKey(
        "catalog.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-computed_at"]
        indexes = [models.Index(fields=["computed_at"], name="recommendation_set_time_idx")]  # the admin list

    def __str__(self) -> str:
        return f"Recommendations for {self.customer_id}"


class ServedCount(models.Model):
    """Recommendations served on one day through one channel: lists and the products in them.

    One row per (day, channel), incremented by `served.flush` with `INSERT ... ON CONFLICT DO UPDATE SET n = n + x`
    from counts buffered in each process (no write on the request path).
    """

    class Channel(models.TextChoices):
        API = "api", "API: a customer's recommendations"
        SIMILAR = "similar", "API: similar products"
        CAMPAIGN = "campaign", "Campaign messages"

    day = models.DateField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    lists = models.BigIntegerField(default=0, help_text="Recommendation lists served.")
    items = models.BigIntegerField(default=0, help_text="Products in those lists.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "channel"], name="served_count_day_channel")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel}: {self.lists} lists, {self.items} products"
