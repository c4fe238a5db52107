"""Products and their reviews."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _default_currency() -> str:
    return str(settings.DEFAULT_CURRENCY)


def _new_external_id() -> str:
    return uuid.uuid4().hex


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True, help_text="The shop's product id.")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    category = models.CharField(
        max_length=300, blank=True, db_index=True, help_text='Category path, e.g. "Home > Kitchen > Mugs".'
    )
    brand = models.CharField(max_length=120, blank=True, db_index=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default=_default_currency)
    is_active = models.BooleanField(default=True)
    in_stock = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        indexes = [models.Index(fields=["is_active", "in_stock"], name="product_available_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0) | Q(price__isnull=True), name="product_price_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"

    @property
    def category_levels(self) -> list[str]:
        return [part.strip() for part in self.category.split(">") if part.strip()]


class Review(models.Model):
    external_id = models.CharField(
        max_length=64, unique=True, default=_new_external_id, help_text="The source's review id (upsert key)."
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    # A string reference: catalog must not import customers (dependencies point downward).
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True, help_text="BCP 47 code such as en or zh.")
    source = models.CharField(max_length=50, blank=True, help_text="Where the review came from.")
    created_at = models.DateTimeField(default=timezone.now, help_text="When the customer wrote it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "created_at"], name="review_product_time_idx"),
            models.Index(fields=["updated_at"], name="review_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5) | Q(rating__isnull=True), name="review_rating_1_5"
            ),
            models.CheckConstraint(condition=~Q(title="", text=""), name="review_has_text"),
        ]

    def __str__(self) -> str:
        return f"Review {self.external_id} of {self.product_id}"
