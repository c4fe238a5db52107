"""Customers and their behaviour events."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from pgvector.django import VectorField

from catalog.models import Product

from .time_zones import validate_time_zone


class Customer(models.Model):
    external_id = models.CharField(max_length=64, unique=True, help_text="The shop's customer id (upsert key).")
    email = models.EmailField(blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    locale = models.CharField(max_length=16, default="en", help_text="Language and region, e.g. en-GB.")
    marketing_consent = models.BooleanField(default=False, help_text="Agreed to receive marketing.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Anything else, e.g. country.")
    created_at = models.DateTimeField(default=timezone.now, help_text="When the customer signed up.")
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the person was erased: the row stays, anonymised, for the shop's accounts and experiment "
        "counts, and no job builds a profile, prediction or recommendation for it again.",
    )
    # after the fields whose defaults use django.utils.timezone: from here on the name is this field
    timezone = models.CharField(
        max_length=64, blank=True, validators=[validate_time_zone],
        help_text="IANA time zone, e.g. Europe/Paris; blank when unknown (send hours are then read in UTC).",
    )

    class Meta:
        ordering = ["external_id"]
        indexes = [
            # the customer list's date filter and the dashboard's sign-ups
            models.Index(fields=["created_at"], name="customer_created_idx"),
            # the admin's search (`icontains` is UPPER(col) LIKE '%...%'): trigram indexes, not a scan of 1 M rows
            GinIndex(OpClass(Upper("external_id"), name="gin_trgm_ops"), name="customer_external_id_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
        ]
        permissions = [
            ("export_customer", "Can export a customer's personal data"),
            ("erase_customer", "Can erase a customer's personal data"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class EventType(models.TextChoices):
    VIEW = "view", "View"
    SEARCH = "search", "Search"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    PURCHASE = "purchase", "Purchase"
    EXPOSURE = "exposure", "Exposure (message delivered or shown)"
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
            # the event list's default order (newest first) and its date filter
            models.Index(fields=["occurred_at", "id"], name="event_time_idx"),
            # the dashboard's weekly sales: purchases only, with what the sum and the order count read
            models.Index(fields=["occurred_at"], include=["value", "order_id"], condition=Q(type="purchase"),
                         name="event_purchase_sales_idx"),
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


# --- What we know about each customer -------------------------------------------------------------


class Segment(models.Model):
    """A named group of customers, usable as a campaign audience.

    Lifecycle segments come from rules over RFM (new, active, loyal, at risk, lapsed); behavioural ones
    from clustering profile vectors, labelled by their members' top categories and keywords. Both are
    rebuilt by jobs; the key stays stable so campaigns keep pointing at the same audience.
    """

    class Kind(models.TextChoices):
        LIFECYCLE = "lifecycle", "Lifecycle (rules)"
        BEHAVIOURAL = "behavioural", "Behavioural (clustering)"

    key = models.SlugField(max_length=64, unique=True, help_text="Stable identifier, e.g. lifecycle-at-risk.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    size = models.PositiveIntegerField(default=0, help_text="Customers in the segment at the last rebuild.")
    top_categories = models.JSONField(default=list, blank=True, help_text='[["Home > Mugs", weight], ...]')
    top_keywords = models.JSONField(default=list, blank=True, help_text='[["ceramic", weight], ...]')
    centroid = VectorField(dimensions=384, null=True, blank=True)
    model_version = models.ForeignKey(
        "catalog.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True, help_text="False once a rebuild no longer produces it.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "key"]

    def __str__(self) -> str:
        return self.name


class Lifecycle(models.TextChoices):
    NEW = "new", "New"
    ACTIVE = "active", "Active"
    LOYAL = "loyal", "Loyal"
    AT_RISK = "at_risk", "At risk"
    LAPSED = "lapsed", "Lapsed"
    PROSPECT = "prospect", "Prospect (never bought)"


class CustomerProfile(models.Model):
    """The customer's interests as a vector, their RFM figures and segments.

    `vector_sum`/`weight_sum` hold the time-decayed, event-weighted sum of product and search embeddings
    as of `decayed_at`: exponential decay lets new events be added without re-reading old ones (multiply
    the sum by the decay since `decayed_at`, add the new terms). `last_event_id` marks the events already
    folded in. `vector` is the unit-length mix of that sum and the customer's review embeddings (re-read on
    every update, since reviews are analysed later and may be edited): the query of nearest-product search.
    No index on it: nothing searches customers by vector, and an HNSW graph cost a rebuild 3 ms per profile.
    """

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    vector = VectorField(dimensions=384, null=True, blank=True)
    vector_sum = VectorField(dimensions=384, null=True, blank=True)
    weight_sum = models.FloatField(default=0.0)
    decayed_at = models.DateTimeField(null=True, blank=True)
    last_event_id = models.BigIntegerField(default=0, help_text="Highest event id folded into the vector.")
    interests = models.JSONField(
        default=dict, blank=True, help_text='{"categories": [[name, weight]], "brands": [...], "keywords": [...]}'
    )
    # RFM, as of `updated_at`
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="Latest event of any type.")
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    recency_days = models.FloatField(null=True, blank=True, help_text="Days since the last order.")
    rfm_score = models.CharField(max_length=3, blank=True, help_text="Recency, frequency, monetary quintiles 1-5.")
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.PROSPECT)
    lifecycle_segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="lifecycle_members"
    )
    behaviour_segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="behaviour_members"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["lifecycle"], name="profile_lifecycle_idx"),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.customer_id}"


class PredictionTarget(models.TextChoices):
    PURCHASE_30D = "purchase_30d", "Purchase in the next 30 days"
    CHURN = "churn", "Churn risk"
    VALUE_90D = "value_90d", "Expected value over 90 days"
    NEXT_ORDER = "next_order", "Expected next order date"


class CustomerPrediction(models.Model):
    """One model's latest prediction for one customer. `probability` for the classifiers, `value` for
    expected value (in the shop's currency) and `predicted_at` for the next order date."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="predictions")
    target = models.CharField(max_length=16, choices=PredictionTarget.choices)
    probability = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    predicted_at = models.DateTimeField(null=True, blank=True)
    model_version = models.ForeignKey("catalog.ModelVersion", on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField(default=timezone.now)
    drivers = models.JSONField(
        default=list, blank=True,
        help_text="What moved this prediction most: [{group, effect, shown: [[feature, value, median]]}], "
                  "largest first (customers.predictions.drivers).",
    )

    class Meta:
        ordering = ["customer_id", "target"]
        constraints = [models.UniqueConstraint(fields=["customer", "target"], name="one_prediction_per_target")]
        indexes = [models.Index(fields=["target", "probability"], name="prediction_target_prob_idx")]

    def __str__(self) -> str:
        return f"{self.target} for {self.customer_id}"


class ErasedCustomer(models.Model):
    """A tombstone: keyed HMACs (never the values) of an erased person's external id and normalised email, so
    an import, a bulk call or a single create cannot bring them back (`customers.tombstones`). `pseudonym`
    is the anonymised customer row's new external id, the only name the audit log and job reports use."""

    pseudonym = models.CharField(max_length=64, unique=True)
    external_id_digest = models.CharField(max_length=64, unique=True)
    email_digest = models.CharField(max_length=64, blank=True, db_index=True)
    customer = models.OneToOneField(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tombstone",
        help_text="The anonymised row kept for accounts and experiment counts.",
    )
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return self.pseudonym


# --- What retention carried over from deleted events (customers/retention.py) ------------------------------


class CarriedTotals(models.Model):
    """A customer's order figures from events the retention job deleted: added back whenever a profile is
    computed, so orders, revenue, first/last order and last seen stay as they were with the events."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="carried")
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    events = models.PositiveIntegerField(default=0, help_text="How many events were folded in and deleted.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "carried totals"

    def __str__(self) -> str:
        return f"Carried totals of {self.customer_id}"


class CarriedProductWeight(models.Model):
    """The decayed interest weight of a customer's deleted events on one product, as of `as_of` (exponential
    decay: worth `weight * decay(now - as_of)` at any later time, exactly what the events would give)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField()
    as_of = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "product"], name="carried_product_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} x product {self.product_id}: {self.weight:.3f}"


class CarriedSearchWeight(models.Model):
    """The decayed weight of a customer's deleted searches for one (normalised) query, as of `as_of`."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    query = models.CharField(max_length=500)
    weight = models.FloatField()
    as_of = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "query"], name="carried_search_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} x {self.query!r}: {self.weight:.3f}"
