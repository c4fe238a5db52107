"""The knowledge API through the generic route mixins (permissions, bodies, validation, bulk): product
questions by SKU and external id, help articles; plus filters, derived ids, and writes queueing a re-index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db.models import Model
from rest_framework.test import APIClient

from assistant.models import Article, ProductQuestion
from jobs.models import Job, JobStatus
from tests.api.mixins import BulkTests, CreateTests, DeleteTests, GetTests, ListTests, UpdateTests
from tests.assistant.builders import make_article, make_product, make_product_question

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_throttle_history() -> Iterator[None]:
    cache.clear()  # DRF keeps request history in the cache (as tests/api/conftest.py does)
    yield
    cache.clear()


class TestProductQuestions(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests, BulkTests):
    url = "/api/v1/product-questions/"
    model = ProductQuestion
    key = "external_id"

    def make(self, like: Model | None = None) -> ProductQuestion:
        return make_product_question()

    def create_payload(self) -> dict[str, Any]:
        return {
            "external_id": "pq-1", "product": make_product().sku, "question": "Is it dishwasher safe?",
            "answer": "Yes, on the top rack.", "language": "en", "source": "shop",
        }

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        base = {"external_id": "pq-x", "product": make_product().sku, "question": "Colour?"}
        return [
            ({**base, "product": "NO-SUCH-SKU"}, "product"),
            ({**base, "question": "   "}, "question"),
            ({"external_id": "pq-y", "product": base["product"]}, "question"),
            ({**base, "product": None}, "product"),
            ({**base, "answer": "a\u0000b"}, "answer"),
            ({**base, "external_id": "  "}, "external_id"),
        ]

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"answer": "No, hand wash only."}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {"external_id": obj.external_id, "product": obj.product.sku, "question": "Replaced?", "answer": "Yes."}

    def bulk_rows(self) -> list[dict[str, Any]]:
        sku = make_product().sku
        return [
            {"external_id": "bq-1", "product": sku, "question": "Does it come with a lid?", "answer": "Yes."},
            {"external_id": "bq-2", "product": sku, "question": "Is it heavy?"},
        ]

    def bad_bulk_rows(self) -> list[tuple[dict[str, Any], str]]:
        return [
            ({"external_id": "bq-bad-1", "product": "NO-SUCH-SKU", "question": "Lid?"}, "product"),
            ({"external_id": "bq-bad-2", "product": make_product().sku, "question": ""}, "question"),
        ]


class TestArticles(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests):
    url = "/api/v1/articles/"
    model = Article
    builder = make_article

    def create_payload(self) -> dict[str, Any]:
        return {
            "title": "Returns", "topic": "returns", "language": "en", "is_published": True,
            "body": "Return within 30 days.\n\n## Refunds\n\nRefunds take 5 working days.",
        }

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        base = self.create_payload()
        return [
            ({**base, "title": " "}, "title"),
            ({**base, "body": "  \n "}, "body"),
            ({**base, "topic": "gossip"}, "topic"),
            ({**base, "language": ""}, "language"),
        ]

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"is_published": False}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {"title": "Delivery (new)", "topic": "delivery", "body": "We ship daily.", "language": "en"}


def test_questions_filter_by_product_sku_and_answered(analyst_client: APIClient) -> None:
    kettle = make_product(sku="KETTLE")
    make_product_question(product=kettle)
    make_product_question(product=kettle, answer="")
    make_product_question()
    body = analyst_client.get("/api/v1/product-questions/?product=KETTLE").json()
    assert body["count"] == 2 and {row["product"] for row in body["results"]} == {"KETTLE"}
    assert analyst_client.get("/api/v1/product-questions/?product=KETTLE&answered=true").json()["count"] == 1
    assert analyst_client.get("/api/v1/product-questions/?answered=false").json()["count"] == 1


def test_a_question_without_id_gets_one_from_its_content(manager_client: APIClient) -> None:
    payload = {"product": make_product().sku, "question": "Is it loud?", "answer": "No."}
    created = manager_client.post("/api/v1/product-questions/", payload, format="json")
    assert created.status_code == 201 and created.json()["external_id"].startswith("sha256:")
    again = manager_client.post("/api/v1/product-questions/", payload, format="json")
    assert again.status_code == 400 and "identical question" in again.json()["external_id"][0]
    bulk = manager_client.post("/api/v1/product-questions/bulk/", [payload], format="json").json()
    assert (bulk["created"], bulk["updated"]) == (0, 1)


def test_api_writes_queue_a_knowledge_index(manager_client: APIClient, settings: Any, run_on_commit: None) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as when a worker runs
    rows = [{"product": make_product().sku, "question": "Lid?", "answer": "Yes."}]
    Job.objects.all().delete()
    assert manager_client.post("/api/v1/product-questions/bulk/", rows, format="json").status_code == 200
    assert Job.objects.filter(kind="index_knowledge", status=JobStatus.QUEUED).count() == 1
    Job.objects.all().delete()
    article = {"title": "Warranty", "topic": "warranty", "body": "Two years.", "language": "en"}
    assert manager_client.post("/api/v1/articles/", article, format="json").status_code == 201
    assert Job.objects.filter(kind="index_knowledge", status=JobStatus.QUEUED).get().queue == "inference"
