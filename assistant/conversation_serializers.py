"""What the assistant's API reads (a question, the product, the customer) and shows (answers with their
citations, conversations with their messages). Citations are shown as kind, id, title and quote only: the
stored scores are for the admin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from catalog.models import Product
from customers.models import Customer

from .models import Author, Conversation, ConversationMessage, PublishableKey

DEFAULT_MAX_QUESTION_CHARS = 500
PUBLIC_CITATION_FIELDS = ("kind", "id", "title", "quote")


def max_question_chars() -> int:
    return int(getattr(settings, "ASSISTANT_MAX_QUESTION_CHARS", DEFAULT_MAX_QUESTION_CHARS))


def public_citations(citations: Any) -> list[dict[str, Any]]:
    if not isinstance(citations, list):
        return []
    return [{f: c.get(f) for f in PUBLIC_CITATION_FIELDS} for c in citations if isinstance(c, dict)]


class CitationSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="product, question, article or insight.")
    id = serializers.IntegerField(help_text="The source's id (product, question, article).")
    title = serializers.CharField()
    quote = serializers.CharField(help_text="The span of the source the answer rests on.")


class QuestionSerializer(serializers.Serializer):
    """A question, with the product page it is asked on and (token and session callers only) the customer."""

    question = serializers.CharField(
        trim_whitespace=True, help_text="The shopper's question; at most ASSISTANT_MAX_QUESTION_CHARS characters."
    )
    product = serializers.CharField(required=False, help_text="SKU of the product the shopper is looking at.")
    product_id = serializers.IntegerField(required=False, help_text="Or the product's id.")
    customer = serializers.CharField(
        required=False, help_text="External id of the signed-in customer. Refused with a publishable key."
    )

    def validate_question(self, value: str) -> str:
        limit = max_question_chars()
        if len(value) > limit:
            raise serializers.ValidationError(f"at most {limit} characters (got {len(value)})")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "product" in attrs and "product_id" in attrs:
            raise serializers.ValidationError({"product_id": "give the product by SKU or by id, not both"})
        if "product" in attrs:
            attrs["product"] = _one(Product.objects.filter(sku=attrs["product"].strip()), "product",
                                    f"no product with SKU {attrs['product']!r}")
        elif "product_id" in attrs:
            attrs["product"] = _one(Product.objects.filter(pk=attrs.pop("product_id")), "product_id",
                                    "no product with this id")
        if "customer" in attrs:
            # an erased customer's anonymised row starts no conversation
            attrs["customer"] = _one(
                Customer.objects.filter(external_id=attrs["customer"].strip(), erased_at__isnull=True), "customer",
                f"no customer with external id {attrs['customer']!r}",
            )
        return attrs


class StartSerializer(QuestionSerializer):
    """A new conversation: the first question is optional (the widget opens one before the shopper asks)."""

    question = serializers.CharField(required=False, trim_whitespace=True, help_text="An optional first question.")


def _one(queryset: Any, field: str, message: str) -> Any:
    found = queryset.first()
    if found is None:
        raise serializers.ValidationError({field: message})
    return found


class MessageSerializer(serializers.ModelSerializer[ConversationMessage]):
    """One turn as the shopper's widget shows it: staff replies included, staff names not."""

    citations = serializers.SerializerMethodField()

    class Meta:
        model = ConversationMessage
        fields = [
            "id", "author", "text", "language", "intent", "citations", "confidence", "handed_off",
            "handoff_reason", "feedback", "created_at",
        ]
        read_only_fields = fields

    def get_citations(self, message: ConversationMessage) -> list[dict[str, Any]]:
        return public_citations(message.citations)


class ConversationSerializer(serializers.ModelSerializer[Conversation]):
    """A conversation; its messages only in the detail view (`with_messages`)."""

    product: serializers.SlugRelatedField[Product] = serializers.SlugRelatedField(
        slug_field="sku", read_only=True, help_text="SKU."
    )
    customer: serializers.SlugRelatedField[Customer] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, help_text="External id (empty for key callers)."
    )
    key: serializers.SlugRelatedField[PublishableKey] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, help_text="The publishable key's name."
    )

    class Meta:
        model = Conversation
        fields = [
            "id", "status", "handoff_reason", "product", "customer", "language", "key", "origin",
            "created_at", "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        data = super().to_representation(instance)
        if self.context.get("key_caller"):
            for private in ("customer", "key", "origin"):
                data.pop(private, None)
        return data


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        read_only_fields = fields


class AnswerSerializer(serializers.Serializer):
    """The assistant's reply to one question (also the `done` event of a stream)."""

    message_id = serializers.IntegerField(help_text="Id of the reply (for feedback).")
    conversation = serializers.UUIDField()
    answer = serializers.CharField()
    citations = CitationSerializer(many=True)
    confidence = serializers.FloatField(allow_null=True)
    language = serializers.CharField(allow_blank=True)
    intent = serializers.CharField(allow_blank=True)
    answer_source = serializers.CharField(allow_blank=True, help_text="generated, quoted or fixed.")
    handed_off = serializers.BooleanField()
    handoff_reason = serializers.CharField(allow_blank=True)
    status = serializers.CharField(help_text="The conversation's status after the reply.")


class StartedSerializer(ConversationDetailSerializer):
    """A new conversation, with the reply to its first question when one was asked."""

    reply = serializers.SerializerMethodField()

    class Meta(ConversationDetailSerializer.Meta):
        fields = [*ConversationDetailSerializer.Meta.fields, "reply"]
        read_only_fields = fields

    def get_reply(self, conversation: Conversation) -> dict[str, Any] | None:
        reply = self.context.get("reply")
        return None if reply is None else answer_data(reply, conversation)


def answer_data(reply: ConversationMessage, conversation: Conversation) -> dict[str, Any]:
    """The reply as AnswerSerializer shows it. Language and intent are what the assistant read in the
    question; the reply carries them when answering copied them, else the shopper's message does."""
    question = None
    if not (reply.language and reply.intent):
        question = (
            conversation.messages.filter(author=Author.SHOPPER, created_at__lte=reply.created_at)
            .exclude(pk=reply.pk).order_by("-created_at", "-id").first()
        )
    return {
        "message_id": reply.pk,
        "conversation": str(conversation.pk),
        "answer": reply.text,
        "citations": public_citations(reply.citations),
        "confidence": reply.confidence,
        "language": reply.language or (question.language if question else ""),
        "intent": reply.intent or (question.intent if question else ""),
        "answer_source": reply.answer_source,
        "handed_off": reply.handed_off,
        "handoff_reason": reply.handoff_reason,
        "status": conversation.status,
    }


class FeedbackSerializer(serializers.Serializer):
    helpful = serializers.BooleanField(help_text="Whether the answer helped.")


class FeedbackResultSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    feedback = serializers.CharField(help_text="helpful or not_helpful.")
