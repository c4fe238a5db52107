"""Products and their reviews."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField


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


class ProductEmbedding(models.Model):
    """The product's text (title, category, brand, description) embedded: content recommendations,
    similar products and customer profiles are built from it. Recomputed when the text changes."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    embedding = VectorField(dimensions=384)
    text_hash = models.CharField(max_length=64, help_text="Hash of the text embedded (skip unchanged products).")
    model_name = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            HnswIndex(
                name="product_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"Embedding of product {self.product_id}"


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
            models.Index(fields=["created_at", "id"], name="review_time_idx"),  # the review list, the dashboard
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5) | Q(rating__isnull=True), name="review_rating_1_5"
            ),
            models.CheckConstraint(condition=~Q(title="", text=""), name="review_has_text"),
        ]

    def __str__(self) -> str:
        return f"Review {self.external_id} of {self.product_id}"


# --- Models and what they produced ---------------------------------------------------------------------

class ModelRole(models.TextChoices):
    EMBEDDING = "embedding", "Embedding"
    SENTIMENT = "sentiment", "Sentiment"
    ASPECTS = "aspects", "Aspect tagger"
    GENERATION = "generation", "Generation"
    RECOMMENDER = "recommender", "Recommender (collaborative sources and fusion)"
    SEGMENTS = "segments", "Behavioural segments (clustering)"
    PURCHASE_30D = "purchase_30d", "Purchase in the next 30 days"
    CHURN = "churn", "Churn risk"
    VALUE_90D = "value_90d", "Expected value over 90 days"
    NEXT_ORDER = "next_order", "Expected next order date"
    ASSISTANT = "assistant", "Assistant retrieval (fusion weight, answerability threshold)"
    UPLIFT = "uplift", "Uplift of an offer (T-learner from an experiment)"


class ModelVersion(models.Model):
    """A trained or installed model: where its files are, how it was made, how well it scored.

    Every model output a person sees points at the version that produced it. At most one version per
    role and language is active (sentiment has one model per language: an English fine-tuned encoder,
    a Chinese character n-gram model...; other roles have no language); training activates a new version
    only when it beats the active one of its role and language.
    """

    role = models.CharField(max_length=16, choices=ModelRole.choices)
    language = models.CharField(
        max_length=16, blank=True, default="",
        help_text="Language the model serves (BCP 47 primary tag: en, zh); empty for roles without one.",
    )
    name = models.CharField(max_length=100, help_text="Human-readable version name.")
    path = models.CharField(max_length=500, blank=True, help_text="Folder holding the weights.")
    base_model = models.CharField(max_length=200, blank=True, help_text="What it was fine-tuned from.")
    params = models.JSONField(default=dict, blank=True, help_text="Training data, sizes, epochs, seed.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Validation scores (macro-F1, accuracy...).")
    is_active = models.BooleanField(default=False)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "language"], condition=Q(is_active=True), name="one_active_model_per_role_language"
            ),
            models.UniqueConstraint(fields=["role", "name"], name="model_version_name_unique"),
        ]

    def __str__(self) -> str:
        language = f" [{self.language}]" if self.language else ""
        return f"{self.role}{language}: {self.name}{' (active)' if self.is_active else ''}"


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class ReviewInsight(models.Model):
    """What the models read in one review. Recomputed when the text or an active model changes."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, primary_key=True, related_name="insight")
    text_hash = models.CharField(max_length=64, help_text="Hash of the text analysed (skip unchanged reviews).")
    language = models.CharField(max_length=16, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True, help_text="Confidence of the label, 0-1.")
    polarity = models.FloatField(null=True, blank=True, help_text="P(positive) - P(negative), -1 to 1.")
    aspects = models.JSONField(default=list, blank=True, help_text='[{"term", "polarity", "start", "end"}]')
    embedding = VectorField(dimensions=384, null=True, blank=True)
    sentiment_model = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    aspect_model = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    embedding_model = models.CharField(max_length=100, blank=True)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            HnswIndex(
                name="review_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["sentiment"], name="review_insight_sentiment_idx"),
        ]

    def __str__(self) -> str:
        return f"Insight of review {self.review_id}: {self.sentiment}"


class ProductInsight(models.Model):
    """What reviewers say about one product, aggregated from its review insights."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="insight")
    review_count = models.PositiveIntegerField(default=0)
    rating_average = models.FloatField(null=True, blank=True)
    rating_distribution = models.JSONField(default=dict, blank=True, help_text='{"1": n, ..., "5": n}')
    sentiment_distribution = models.JSONField(default=dict, blank=True)
    sentiment_over_time = models.JSONField(default=list, blank=True, help_text="Monthly counts and mean rating.")
    praised_aspects = models.JSONField(default=list, blank=True)
    pain_points = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    needs = models.JSONField(default=list, blank=True)
    source_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the insights aggregated.")
    computed_at = models.DateTimeField(default=timezone.now)
    summary = models.TextField(blank=True)
    summary_input_hash = models.CharField(max_length=64, blank=True)
    summary_model = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Insight of {self.product_id}"


class GeneratedText(models.Model):
    """Cache of generation outputs by prompt hash: the same prompt to the same model is paid once."""

    prompt_hash = models.CharField(max_length=64, unique=True)
    model_name = models.CharField(max_length=200)
    prompt = models.TextField()
    output = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.model_name}: {self.prompt_hash[:12]}"
