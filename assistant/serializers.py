"""What the assistant's knowledge API reads and writes: product questions (also validating every imported
row, see upserts.py) and help articles."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from rest_framework import serializers

from catalog.models import Product
from core.moments import check_plausible
from core.upsert import BatchLookupSlugField, UpsertKeyMixin

from .models import Article, ProductQuestion


def _one_line(value: str) -> str:
    return " ".join((value or "").split())


def derive_question_id(attrs: dict[str, Any]) -> str:
    """A stable id from a question's content (product, question, answer), so importing the same export
    twice stores each question once; exports repeat a question with several answers, which stay apart."""
    content = {
        "product": getattr(attrs.get("product"), "sku", None),
        "question": _one_line(attrs.get("question", "")),
        "answer": _one_line(attrs.get("answer", "")),
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest[:48]}"


class ProductQuestionSerializer(UpsertKeyMixin, serializers.ModelSerializer[ProductQuestion]):
    upsert_key = "external_id"
    product = BatchLookupSlugField(slug_field="sku", queryset=Product.objects.all(), help_text="Product SKU.")

    class Meta:
        model = ProductQuestion
        fields = [
            "id", "external_id", "product", "question", "answer", "language", "source", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        extra_kwargs = {
            "external_id": {
                "required": False, "help_text": "The source's question id; derived from the content if absent.",
            },
            "question": {"help_text": "The shopper's question (required, not blank)."},
            "answer": {"help_text": "The answer; unanswered questions are kept but not used by the assistant."},
        }

    def validate_external_id(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("must not be blank (leave it out to derive one from the content)")
        return value

    def validate_created_at(self, value: datetime) -> datetime:
        return check_plausible(value)

    def validate_language(self, value: str) -> str:
        return value.strip().lower()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("question", "answer"):
            if isinstance(attrs.get(name), str) and "\x00" in attrs[name]:
                raise serializers.ValidationError({name: "must not contain the NUL character"})
        if not (attrs.get("external_id") or getattr(self.instance, "external_id", "")):
            attrs["external_id"] = derive_question_id(attrs)
            # Bulk upserts treat a known id as an update; a single create would hit the unique index.
            if not self.context.get("upsert") and ProductQuestion.objects.filter(
                external_id=attrs["external_id"]
            ).exists():
                raise serializers.ValidationError(
                    {"external_id": f"an identical question is already stored ({attrs['external_id']})"}
                )
        return attrs


class ArticleSerializer(serializers.ModelSerializer[Article]):
    class Meta:
        model = Article
        fields = ["id", "title", "topic", "body", "language", "is_published", "created_at", "updated_at"]
        read_only_fields = ["id", "updated_at"]

    def validate_title(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("must not be blank")
        return value

    def validate_body(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("must not be blank: an article needs some text to cite")
        if "\x00" in value:
            raise serializers.ValidationError("must not contain the NUL character")
        return value

    def validate_language(self, value: str) -> str:
        value = value.strip().lower()
        if not value:
            raise serializers.ValidationError("must not be blank, e.g. en or zh")
        return value
