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
