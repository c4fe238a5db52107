"""Customers and their behaviour events."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Product


class Customer(models.Model):
    external_id = models.CharField(max_length=64, unique=True, help_text="The shop's customer id (upsert key).")
    email = models.EmailField(blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    locale = models.CharField(max_length=16, default="en", help_text="Language and region, e.g. en-GB.")
    marketing_consent = models.BooleanField(default=False, help_text="Agreed to receive marketing.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Anything else, e.g. country.")
    created_at = models.DateTimeField(default=timezone.now, help_text="When the customer signed up.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class EventType(models.TextChoices):
    VIEW = "view", "View"
    SEARCH = "search", "Search"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    PURCHASE = "purchase", "Purchase"
    CLICK = "click", "Click"
    OPEN = "open", "Open"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"


class Event(models.Model):
    """One thing a customer did. Append-mostly; `external_id` makes re-imports idempotent."""

    external_id = models.CharField(
        max_length=64, unique=True, help_text="Source event id; derived from the row's content when absent."
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    type = models.CharField(max_length=16, choices=EventType.choices)
    query = models.CharField(max_length=500, blank=True, help_text="Search text, for search events.")
    order_id = models.CharField(max_length=64, blank=True, db_index=True)
    quantity = models.IntegerField(null=True, blank=True)
    value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Line value of a purchase."
    )
    attributes = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # per-customer time ranges (profiles, RFM, attribution windows)
            models.Index(fields=["customer", "occurred_at"], name="event_customer_time_idx"),
            # per-product counts by type (popularity, trending)
            models.Index(fields=["product", "type", "occurred_at"], name="event_product_type_idx"),
            models.Index(fields=["type", "occurred_at"], name="event_type_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(type="search") | ~Q(query=""), name="event_search_has_query"
            ),
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gt=0), name="event_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} by {self.customer_id} at {self.occurred_at:%Y-%m-%d %H:%M}"
