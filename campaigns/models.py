"""Campaigns: the brief, its audience and products, the copy variants and their review, the messages sent,
and the experiment that compares the variants."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

MAX_DISCOUNT_PERCENT = 90  # deeper than this is a giveaway, not an offer to test


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

    class SendTiming(models.TextChoices):
        NOW = "now", "Now"
        BEST_HOUR = "best_hour", "At each customer's best hour within the next 24 hours"

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
    tone = models.CharField(max_length=100, blank=True, help_text="e.g. warm, playful, premium.")
    language = models.CharField(max_length=16, default="en", help_text="Language of the copy (BCP 47, e.g. en).")
    offer = models.CharField(
        max_length=300,
        blank=True,
        help_text="The only discount or price the copy may mention, e.g. '15% off with code AUTUMN15'.",
    )
    banned_words = models.JSONField(default=list, blank=True, help_text="Words and phrases the copy must not use.")
    required_text = models.TextField(
        blank=True, help_text="Text every message must carry verbatim (disclaimer, unsubscribe line)."
    )
    # The brand's template: the model writes the subject, preheader, body paragraph and call to action; the
    # greeting, the offer sentence (the offer verbatim), the sign-off and the required text come from here.
    greeting = models.CharField(
        max_length=100, blank=True, default="Hi {first_name},",
        help_text="First line of every email; {first_name} is filled at send time. Blank: no greeting.",
    )
    sign_off = models.TextField(
        blank=True,
        help_text="Closing lines of every email, e.g. 'Happy running,\nThe Stride team'. Blank: none.",
    )
    # audience: customers with marketing consent in any of the segments (all consenting customers when none),
    # narrowed by `audience_filters`, e.g. {"lifecycle": ["at_risk"], "locale": "en", "min_orders": 1}
    segments = models.ManyToManyField("customers.Segment", blank=True, related_name="campaigns")
    audience_filters = models.JSONField(default=dict, blank=True)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="campaigns")
    recommend_products = models.BooleanField(
        default=False, help_text="Fill each message with the customer's own recommended products."
    )
    variants_per_group = models.PositiveSmallIntegerField(default=3, help_text="Copy variants per segment x product.")
    personalise_per_customer = models.BooleanField(
        default=False, help_text="Also generate copy per customer (slow: one generation per customer)."
    )
    landing_url = models.URLField(blank=True, help_text="Where links in the message lead.")
    send_timing = models.CharField(
        max_length=16, choices=SendTiming.choices, default=SendTiming.NOW,
        help_text="Now, or each message at its customer's preferred hour (learnt from their opens, clicks and "
        "orders, on their own clock) within 24 hours of the send.",
    )
    attribution_days = models.PositiveSmallIntegerField(
        default=7, help_text="Opens, clicks and purchases within this many days of the send count for the campaign."
    )
    # the last test send (`campaigns.proofs`): when, and the fingerprint of each variant's email it showed
    # (copy, template and brand); a send starts only when every approved variant's fingerprint is among them
    tested_at = models.DateTimeField(null=True, blank=True)
    tested_copy = models.JSONField(default=list, blank=True, help_text="Fingerprints of the variants last tested.")
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CampaignTransition(models.Model):
    """Who moved the campaign from one status to another, when, and why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Campaign.Status.choices)
    to_status = models.CharField(max_length=16, choices=Campaign.Status.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_status} -> {self.to_status}"


class Variant(models.Model):
    """One piece of generated (or edited) copy for a segment x product, or for one customer.

    Traceable: the prompt, the model version, every guardrail result and the attempts it took. A person
    approves or rejects it; only approved variants become experiment arms.
    """

    class Status(models.TextChoices):
        IN_REVIEW = "in_review", "In review"
        FLAGGED = "flagged", "Flagged by guardrails"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    segment = models.ForeignKey("customers.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    label = models.CharField(max_length=16, help_text="Short name shown side by side, e.g. A, B, C.")
    subject = models.CharField(max_length=200, blank=True, help_text="Email subject or push title.")
    preheader = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_REVIEW, db_index=True)
    guardrails = models.JSONField(
        default=list, blank=True, help_text='[{"check", "passed", "detail"}] of the last try.'
    )
    attempts = models.PositiveSmallIntegerField(default=1, help_text="Generations needed to pass the guardrails.")
    relevance = models.FloatField(null=True, blank=True, help_text="Similarity of the copy to the product and segment.")
    prompt = models.TextField(blank=True)
    model_version = models.ForeignKey(
        "catalog.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_name = models.CharField(max_length=200, blank=True)
    generated_body = models.TextField(blank=True, help_text="The model's text before any human edit.")
    parts = models.JSONField(
        default=dict, blank=True,
        help_text="Each part the model wrote (subject, preheader, paragraph, cta, ...): its candidates with "
                  "their scores and failed checks, and which one was chosen.",
    )
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["campaign_id", "segment_id", "product_id", "label"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.label}"


class Experiment(models.Model):
    """The campaign's A/B test: arms are its approved variants plus an optional holdout."""

    class Allocation(models.TextChoices):
        FIXED = "fixed", "Fixed weights"
        THOMPSON = "thompson", "Thompson sampling (re-weights on a schedule)"

    class Metric(models.TextChoices):
        OPEN = "open", "Open rate"
        CLICK = "click", "Click rate"
        CONVERSION = "conversion", "Conversion rate"

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="experiment")
    allocation = models.CharField(max_length=16, choices=Allocation.choices, default=Allocation.FIXED)
    reweight_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Thompson sampling: hours between re-weights."
    )
    holdout_weight = models.FloatField(
        default=0.1, help_text="Share of the audience that gets no message (0 = no holdout)."
    )
    primary_metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.CONVERSION)
    alpha = models.FloatField(default=0.05, help_text="Significance level of the winner rule.")
    minimum_sample = models.PositiveIntegerField(default=200, help_text="Customers per arm before a winner is called.")
    minimum_detectable_effect = models.FloatField(default=0.02, help_text="Absolute lift the test should detect.")
    power = models.FloatField(default=0.8)
    winner = models.ForeignKey("Arm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    winner_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner_note = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_reweighted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Experiment of {self.campaign}"


class Arm(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    key = models.CharField(max_length=32, help_text="A, B, ... or holdout.")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="arms")
    weight = models.FloatField(default=1.0, help_text="Relative share of new assignments.")
    is_control = models.BooleanField(default=False, help_text="Lifts are measured against this arm.")
    discount_percent = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_DISCOUNT_PERCENT)],
        help_text="Discount this arm's message offers, 0-90 (blank: not a discount arm; the holdout counts as 0). "
                  "Arms at different depths feed the discount suggestions (campaigns.discounts).",
    )

    class Meta:
        ordering = ["experiment_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="arm_key_unique"),
            models.CheckConstraint(
                condition=models.Q(discount_percent__isnull=True)
                | models.Q(discount_percent__gte=0, discount_percent__lte=MAX_DISCOUNT_PERCENT),
                name="arm_discount_percent_0_90",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_holdout(self) -> bool:
        return self.variant_id is None

    def clean(self) -> None:
        if self.variant_id is None and self.discount_percent not in (None, 0):
            raise ValidationError({"discount_percent": "the holdout gets no message, so it cannot offer a discount"})


class Assignment(models.Model):
    """Which arm a customer is in: a stable hash of customer and experiment, recorded once."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="assignments")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "customer"], name="one_assignment_per_customer")]
        indexes = [models.Index(fields=["arm", "assigned_at"], name="assignment_arm_time_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.arm_id}"


class Message(models.Model):
    """One message to one customer. Unique per campaign and customer, so a retried job never sends twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no consent or unsubscribed)"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="messages")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    arm = models.ForeignKey(Arm, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    channel = models.CharField(max_length=16, choices=Campaign.Channel.choices)
    recipient = models.CharField(max_length=254, blank=True, help_text="Email address or phone number.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    products = models.JSONField(default=list, blank=True, help_text="Product ids filled into the message.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=200, blank=True, help_text="Id given by the email provider or webhook.")
    created_at = models.DateTimeField(default=timezone.now)
    scheduled_for = models.DateTimeField(
        null=True, blank=True,
        help_text="Not before this moment (a campaign sent at each customer's best hour); blank: at once.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="one_message_per_customer")]
        indexes = [  # the dispatcher's question every minute: which queued messages are due?
            models.Index(fields=["scheduled_for"], condition=models.Q(status="queued"), name="message_due_idx"),
            models.Index(fields=["created_at", "id"], name="message_time_idx"),  # the admin list's order
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} -> {self.customer_id}: {self.status}"


class UpliftModel(models.Model):
    """An uplift model trained on one experiment (offer arms vs its control): the versioned model (files,
    parameters and held-out metrics live on the `ModelVersion`) linked to the experiment it learnt from."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="uplift_models")
    version = models.OneToOneField("catalog.ModelVersion", on_delete=models.CASCADE, related_name="uplift_model")
    treated_arms = models.JSONField(default=list, help_text="Keys of the arms pooled as 'offered'.")
    control_arm = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"uplift {self.version_id} of experiment {self.experiment_id}"


class UpliftScore(models.Model):
    """A customer's predicted uplift under one uplift model (features as of when it was scored)."""

    model = models.ForeignKey(UpliftModel, on_delete=models.CASCADE, related_name="scores")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    uplift = models.FloatField(help_text="P(convert | offer) - P(convert | no offer).")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "customer"], name="one_uplift_score_per_customer")]
        indexes = [models.Index(fields=["model", "-uplift"], name="uplift_score_rank_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.uplift:+.3f}"


class Brand(models.Model):
    """The shop's look in every email: one row (`brand.current_brand`), set on its admin page.

    Checked in `campaigns.brand` (colours as #rrggbb with readable contrast, the logo's type and size) so a
    bad value is refused with its reason before any email shows it.
    """

    SINGLETON_ID = 1

    name = models.CharField(max_length=120, default="Our shop", help_text="Shown in the header when there is no "
                            "logo, as the logo's alt text, and in the footer.")
    primary_colour = models.CharField(
        max_length=7, default="#1f5f8b",
        help_text="Header bar and buttons (#rrggbb). White button text must stay readable on it (contrast 4.5:1).",
    )
    accent_colour = models.CharField(
        max_length=7, default="#b4461b",
        help_text="Prices and the offer (#rrggbb), as text on white: contrast 4.5:1 at least.",
    )
    logo = models.FileField(
        upload_to="brand/", blank=True,
        help_text="PNG, JPEG or GIF, at most 1 MB (stored on this server and served at PUBLIC_BASE_URL).",
    )
    logo_url = models.URLField(
        blank=True, help_text="Or an https address of the logo (used when no file is uploaded)."
    )
    address = models.TextField(
        blank=True, help_text="The shop's postal address and footer text (anti-spam laws ask for an address).",
    )
    reply_to = models.EmailField(blank=True, help_text="Where customers' replies go (Reply-To); blank: the sender.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "brand"
        verbose_name_plural = "brand"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .brand import brand_problems  # the rules live in one place, beside the rendering that needs them

        problems = brand_problems(self)
        if problems:
            raise ValidationError(problems)
