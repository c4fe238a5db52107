"""The assistant's knowledge (product questions and answers, articles, the indexed chunks of every source)
and its conversations (messages with their citations, hand-offs, feedback, publishable keys)."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from catalog.models import ModelVersion, Product


def _new_external_id() -> str:
    return uuid.uuid4().hex


# --- Knowledge -----------------------------------------------------------------------------------------

class ProductQuestion(models.Model):
    """A shopper's question about a product and the shop's (or another shopper's) answer."""

    external_id = models.CharField(
        max_length=64, unique=True, default=_new_external_id,
        help_text="The source's question id (upsert key); derived from the row's content when absent.",
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="questions")
    question = models.TextField()
    answer = models.TextField(blank=True, help_text="Empty while unanswered: unanswered questions are not indexed.")
    language = models.CharField(max_length=16, blank=True, help_text="BCP 47 code; detected when empty.")
    source = models.CharField(max_length=50, blank=True, help_text="Where it came from (import, admin, assistant).")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["updated_at"], name="question_updated_idx")]
        constraints = [models.CheckConstraint(condition=~Q(question=""), name="question_not_empty")]

    def __str__(self) -> str:
        return self.question[:80]


class ArticleTopic(models.TextChoices):
    DELIVERY = "delivery", "Delivery"
    RETURNS = "returns", "Returns"
    WARRANTY = "warranty", "Warranty"
    SIZING = "sizing", "Sizing"
    PAYMENT = "payment", "Payment"
    FAQ = "faq", "FAQ"
    OTHER = "other", "Other"


class Article(models.Model):
    """A help article a manager writes in Markdown; only published articles are indexed."""

    title = models.CharField(max_length=200)
    topic = models.CharField(max_length=16, choices=ArticleTopic.choices, default=ArticleTopic.FAQ)
    body = models.TextField(help_text="Markdown. Each section (## heading) becomes a passage the assistant can cite.")
    language = models.CharField(max_length=16, default="en", help_text="BCP 47 code of the text.")
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["topic", "title"]

    def __str__(self) -> str:
        return self.title


class SourceKind(models.TextChoices):
    PRODUCT = "product", "Product facts"
    QUESTION = "question", "Product question and answer"
    ARTICLE = "article", "Article"
    INSIGHT = "insight", "Review insight"


class KnowledgeChunk(models.Model):
    """One passage of a source, as the assistant retrieves and cites it: embedded (HNSW) and indexed for
    full-text search (a generated tsvector over `search_text`, GIN)."""

    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_id = models.BigIntegerField(help_text="Primary key of the source row (product, question, article).")
    position = models.PositiveIntegerField(default=0, help_text="Order of the passage within its source.")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="knowledge_chunks",
        help_text="The product the passage is about; empty for articles.",
    )
    title = models.CharField(max_length=300, help_text="What a citation shows.")
    text = models.TextField(help_text="The passage as cited and given to the model.")
    language = models.CharField(max_length=16, blank=True)
    search_text = models.TextField(
        blank=True, help_text="What full-text search reads: the title and text, Chinese segmented into words."
    )
    search_vector = models.GeneratedField(
        expression=models.Func(
            models.F("search_text"),
            function="to_tsvector",
            template="to_tsvector('english'::regconfig, %(expressions)s)",
            output_field=SearchVectorField(),
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    embedding = VectorField(dimensions=384, null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    text_hash = models.CharField(max_length=64, help_text="Hash of the text and embedder (skip unchanged passages).")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "source_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id", "position"], name="knowledge_chunk_unique"),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="knowledge_chunk_search_gin"),
            HnswIndex(
                name="knowledge_chunk_hnsw", fields=["embedding"], m=16, ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["product", "kind"], name="knowledge_chunk_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}#{self.position}: {self.title}"


# --- Conversations -------------------------------------------------------------------------------------

def _new_publishable_key() -> str:
    return "pk_" + secrets.token_urlsafe(24)


class PublishableKey(models.Model):
    """A key the storefront widget shows in its page: it can only ask questions, from the listed origins.
    Public by design (it is in the page's HTML), so it is stored as is; revoke it by deactivating."""

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=64, unique=True, default=_new_publishable_key, editable=False)
    site = models.CharField(max_length=200, help_text="The storefront this key serves, e.g. shop.example.com.")
    allowed_origins = models.JSONField(
        default=list, blank=True,
        help_text='Origins that may call the API with this key, e.g. ["https://shop.example.com"].',
    )
    rate_per_minute = models.PositiveIntegerField(default=30, help_text="Questions per minute for the whole key.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"


class ConversationStatus(models.TextChoices):
    OPEN = "open", "Open: the assistant answers"
    HANDED_OFF = "handed_off", "Handed off: waiting for a person"
    CLOSED = "closed", "Closed"


class HandoffReason(models.TextChoices):
    NO_EVIDENCE = "no_evidence", "The shop's knowledge does not answer it"
    COMPLAINT = "complaint", "Complaint"
    ASKED_FOR_PERSON = "asked_for_person", "Asked for a person"
    ORDER_STATUS = "order_status", "Order status (no order system connected)"
    REPEATED_DISSATISFACTION = "repeated_dissatisfaction", "Repeated dissatisfaction"
    CONVERSATION_TOO_LONG = "conversation_too_long", "Conversation too long"


class Intent(models.TextChoices):
    PRODUCT_QUESTION = "product_question", "Product question"
    DELIVERY = "delivery", "Delivery"
    RETURNS = "returns", "Returns"
    ORDER_STATUS = "order_status", "Order status"
    COMPLAINT = "complaint", "Complaint"
    REQUEST_PERSON = "request_person", "Request for a person"
    OTHER = "other", "Other"


class Conversation(models.Model):
    """A shopper's conversation with the assistant (and, after a hand-off, with the shop's staff).
    Its id is a random UUID: the widget holds it, and nobody can guess another shopper's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.ForeignKey(
        PublishableKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations",
        help_text="The publishable key it came through; empty for API calls with a token or session.",
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations",
        help_text="The product page it started on; follow-up questions stay on it.",
    )
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.OPEN)
    handoff_reason = models.CharField(max_length=32, choices=HandoffReason.choices, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    origin = models.CharField(max_length=200, blank=True, help_text="The page origin the widget ran on.")
    client_hash = models.CharField(
        max_length=64, blank=True, help_text="Salted hash of the client address (rate limits; never the address)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="conversation_status_idx")]

    def __str__(self) -> str:
        return f"Conversation {str(self.id)[:8]} ({self.status})"


class Author(models.TextChoices):
    SHOPPER = "shopper", "Shopper"
    ASSISTANT = "assistant", "Assistant"
    STAFF = "staff", "Staff"


class AnswerSource(models.TextChoices):
    GENERATED = "generated", "Generated from the evidence"
    QUOTED = "quoted", "Quoted from the best evidence"
    FIXED = "fixed", "Fixed text (hand-off, refusal)"


class Feedback(models.TextChoices):
    HELPFUL = "helpful", "Helpful"
    NOT_HELPFUL = "not_helpful", "Not helpful"


class ConversationMessage(models.Model):
    """One turn. Text is stored with emails and phone numbers redacted."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=16, choices=Author.choices)
    text = models.TextField()
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # what the assistant read in a shopper's question
    language = models.CharField(max_length=16, blank=True)
    intent = models.CharField(max_length=24, choices=Intent.choices, blank=True)
    resolved_query = models.TextField(blank=True, help_text="The question as searched (follow-ups resolved).")
    # how the assistant answered
    citations = models.JSONField(
        default=list, blank=True, help_text='[{"kind", "id", "title", "quote", "product", "score"}]'
    )
    confidence = models.FloatField(null=True, blank=True, help_text="0-1: how strongly the evidence answers.")
    answer_source = models.CharField(max_length=16, choices=AnswerSource.choices, blank=True)
    handed_off = models.BooleanField(default=False)
    handoff_reason = models.CharField(max_length=32, choices=HandoffReason.choices, blank=True)
    generation_model = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(
        default=dict, blank=True, help_text="Retrieval scores, removed sentences, timings (for the admin)."
    )
    feedback = models.CharField(max_length=16, choices=Feedback.choices, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conversation", "created_at", "id"]
        indexes = [
            models.Index(fields=["handoff_reason", "created_at"], name="conv_message_handoff_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:60]}"


class UnansweredQuestion(models.Model):
    """A question handed off because the knowledge did not answer it. A manager turns it into an article or
    a product answer, and the assistant answers it from then on."""

    message = models.OneToOneField(
        ConversationMessage, on_delete=models.CASCADE, related_name="unanswered",
        help_text="The shopper's message.",
    )
    question = models.TextField()
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    language = models.CharField(max_length=16, blank=True)
    best_score = models.FloatField(null=True, blank=True, help_text="The evidence's score when it was asked.")
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_question = models.ForeignKey(
        ProductQuestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["resolved_at", "-created_at"]

    def __str__(self) -> str:
        return self.question[:80]


class HandoffInbox(Conversation):
    """The conversations waiting for a person (handed off, not closed), as the admin's inbox: a proxy, no
    table of its own, so the inbox has its own page and permissions."""

    class Meta:
        proxy = True
        verbose_name = "hand-off inbox conversation"
        verbose_name_plural = "hand-off inbox"
