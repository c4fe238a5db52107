"""Every REST endpoint through the generic mixins: permissions, bodies, validation, query counts, bulk."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from campaigns.models import Campaign
from catalog.models import Product, Review
from customers.models import Customer, Event
from jobs.models import Job, JobStatus
from tests.campaigns.builders import campaign
from tests.catalog.builders import product, review
from tests.customers.builders import customer, event
from tests.jobs.builders import job

from .mixins import BulkTests, CreateTests, DeleteTests, GetTests, ListTests, UpdateTests

pytestmark = pytest.mark.django_db

NUL = "a\u0000b"  # JSON allows it; PostgreSQL's jsonb does not


class TestProducts(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests, BulkTests):
    url = "/api/v1/products/"
    model = Product
    key = "sku"
    builder = product

    def create_payload(self) -> dict[str, Any]:
        return {
            "sku": "MUG-BLUE",
            "title": "Blue mug",
            "description": "Stoneware, 350 ml",
            "category": "Home > Kitchen > Mugs",
            "brand": "Acme",
            "price": "12.50",
            "currency": "eur",
            "is_active": True,
            "in_stock": False,
            "attributes": {"colour": "blue"},
        }

    def expected_created(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "currency": payload.get("currency", "usd").upper()}

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        existing = product(sku="TAKEN")
        return [
            ({"sku": " ", "title": "Blank SKU"}, "sku"),
            ({"sku": existing.sku, "title": "Duplicate SKU"}, "sku"),
            ({"sku": "X-1"}, "title"),
            ({"sku": "X-2", "title": "t", "price": "-1.00"}, "price"),
            ({"sku": "X-3", "title": "t", "price": "abc"}, "price"),
            ({"sku": "X-4", "title": "t", "currency": "EURO"}, "currency"),
            ({"sku": "X-5", "title": "t", "attributes": ["not", "an", "object"]}, "attributes"),
            ({"sku": "X-6", "title": "t", "attributes": {"note": NUL}}, "attributes"),
        ]

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"title": "Renamed", "price": "9.99", "in_stock": False}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {"sku": obj.sku, "title": "Replaced", "price": "1.00", "currency": "GBP"}

    def bulk_rows(self) -> list[dict[str, Any]]:
        return [
            {"sku": "B-1", "title": "One", "price": "5.00", "category": "Garden"},
            {"sku": "B-2", "title": "Two"},
            {"sku": "B-3", "title": "Three", "attributes": {"size": "L"}},
        ]

    def bad_bulk_rows(self) -> list[tuple[dict[str, Any], str]]:
        return [
            ({"sku": "BAD-1", "title": "Bad price", "price": "abc"}, "price"),
            ({"sku": "BAD-2"}, "title"),
            ({"title": "No SKU"}, "sku"),
        ]

    def test_product_is_found_by_sku_with_every_field(self, manager_client: APIClient) -> None:
        manager_client.post(self.url, self.create_payload(), format="json")
        product = Product.objects.get(sku="MUG-BLUE")
        assert (product.price, product.currency, product.in_stock) == (pytest.approx(12.5), "EUR", False)
        assert product.attributes == {"colour": "blue"}
        assert product.category_levels == ["Home", "Kitchen", "Mugs"]


class TestReviews(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests, BulkTests):
    url = "/api/v1/reviews/"
    model = Review
    key = "external_id"

    def make(self, like: Model | None = None) -> Review:
        return review(customer=customer())

    def create_payload(self) -> dict[str, Any]:
        return {
            "external_id": "r-1",
            "product": product().sku,  # references by SKU, shown back as the SKU
            "customer": customer().external_id,
            "rating": 5,
            "title": "Lovely",
            "text": "Keeps my tea hot.",
            "language": "en",
            "source": "shop",
        }

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        base = {"external_id": "r-x", "product": product().sku, "text": "ok"}
        return [
            ({**base, "product": "NO-SUCH-SKU"}, "product"),
            ({**base, "customer": "no-such-customer"}, "customer"),
            ({**base, "rating": 6}, "rating"),
            ({**base, "rating": 0}, "rating"),
            ({**base, "text": "", "title": "  "}, "text"),
            ({"external_id": "r-y", "text": "no product"}, "product"),
        ]

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"rating": 2, "text": "Cracked after a week."}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {"external_id": obj.external_id, "product": obj.product.sku, "rating": 3, "text": "Replaced"}

    def bulk_rows(self) -> list[dict[str, Any]]:
        sku = product().sku
        return [
            {"external_id": "br-1", "product": sku, "rating": 5, "text": "Great"},
            {"external_id": "br-2", "product": sku, "title": "Fine"},
        ]

    def bad_bulk_rows(self) -> list[tuple[dict[str, Any], str]]:
        sku = product().sku
        return [
            ({"external_id": "bad-1", "product": "NO-SUCH-SKU", "text": "x"}, "product"),
            ({"external_id": "bad-2", "product": sku, "rating": 0, "text": "x"}, "rating"),
            ({"external_id": "bad-3", "rating": 3, "text": "x"}, "product"),
            ({"external_id": "bad-4", "product": sku}, "text"),
        ]

    def test_review_shows_product_and_customer_by_their_keys(self, analyst_client: APIClient) -> None:
        written = review(product=product(sku="MUG-7"), customer=customer(external_id="ann"))
        body = analyst_client.get(self.detail(written)).json()
        assert (body["product"], body["customer"]) == ("MUG-7", "ann")


class TestCustomers(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests, BulkTests):
    url = "/api/v1/customers/"
    model = Customer
    key = "external_id"
    builder = customer

    def create_payload(self) -> dict[str, Any]:
        return {
            "external_id": "shop-42",
            "email": "ann@example.com",
            "name": "Ann",
            "locale": "en-GB",
            "marketing_consent": True,
            "attributes": {"country": "GB"},
        }

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        taken = customer()
        return [
            ({"external_id": "c-1", "email": "not-an-email"}, "email"),
            ({"external_id": "  "}, "external_id"),
            ({"external_id": taken.external_id}, "external_id"),
            ({"external_id": "c-2", "attributes": "GB"}, "attributes"),
            ({"external_id": "c-3", "attributes": {"k": [NUL]}}, "attributes"),
            ({"email": "x@example.com"}, "external_id"),
        ]

    def test_manager_deletes(self, manager_client: APIClient) -> None:
        """DELETE erases (a job, 202): the row stays anonymised for accounts and experiments (tests/privacy)."""
        obj = self.make()
        response = manager_client.delete(self.detail(obj))
        assert response.status_code == 202, response.content
        assert response.json()["kind"] == "erase_customer"

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"marketing_consent": True, "locale": "fr-FR"}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {"external_id": obj.external_id, "email": "new@example.com", "name": "New"}

    def bulk_rows(self) -> list[dict[str, Any]]:
        return [
            {"external_id": "bc-1", "email": "one@example.com"},
            {"external_id": "bc-2", "name": "Two", "marketing_consent": True},
        ]

    def bad_bulk_rows(self) -> list[tuple[dict[str, Any], str]]:
        return [
            ({"external_id": "bad-1", "email": "nope"}, "email"),
            ({"name": "no id"}, "external_id"),
            ({"external_id": "bad-3", "marketing_consent": "perhaps"}, "marketing_consent"),
        ]


class TestEvents(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests, BulkTests):
    url = "/api/v1/events/"
    model = Event
    key = "external_id"
    list_max_queries = 4  # cursor pagination: no count query

    def make(self, like: Model | None = None) -> Event:
        return event(customer(), "view", product=product())

    def create_payload(self) -> dict[str, Any]:
        return {
            "external_id": "e-1",
            "customer": customer().external_id,
            "product": product().sku,
            "type": "purchase",
            "order_id": "o-1",
            "quantity": 3,
            "unit_price": "12.50",
            "occurred_at": "2025-03-01T12:00:00Z",
            "attributes": {"channel": "web"},
        }

    def expected_created(self, payload: dict[str, Any]) -> dict[str, Any]:
        expected = {k: v for k, v in payload.items() if k != "unit_price"}  # write-only
        if "unit_price" in payload and "value" not in payload:
            expected["value"] = "37.50"  # 12.50 x 3
        return expected

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        who, sku = customer().external_id, product().sku
        base = {"customer": who, "occurred_at": "2025-03-01T12:00:00Z"}
        return [
            ({**base, "type": "search"}, "query"),
            ({**base, "type": "search", "query": "   "}, "query"),
            ({**base, "type": "purchase"}, "product"),
            ({**base, "type": "dance"}, "type"),
            ({**base, "type": "view", "product": "NO-SUCH-SKU"}, "product"),
            ({**base, "customer": "nobody-known", "type": "click"}, "customer"),
            ({**base, "type": "purchase", "product": sku, "quantity": 0}, "quantity"),
            ({**base, "type": "purchase", "product": sku, "unit_price": "-1"}, "unit_price"),
            # passes every field check, but 9,999,999,999.99 x 100,000 does not fit the value column
            (
                {**base, "type": "purchase", "product": sku, "unit_price": "9999999999.99", "quantity": 100000},
                "unit_price",
            ),
            ({**base, "type": "click", "attributes": ["x"]}, "attributes"),
            ({**base, "type": "click", "attributes": {NUL: 1}}, "attributes"),
        ]

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"order_id": "o-2", "quantity": 2}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {
            "external_id": obj.external_id,
            "customer": obj.customer.external_id,
            "type": "search",
            "query": "blue mug",
            "occurred_at": "2025-03-02T08:00:00Z",
        }

    def bulk_rows(self) -> list[dict[str, Any]]:
        who, sku = customer().external_id, product().sku
        return [
            {"external_id": "be-1", "customer": who, "type": "view", "product": sku},
            {"external_id": "be-2", "customer": who, "type": "search", "query": "mug"},
            {"external_id": "be-3", "customer": who, "type": "purchase", "product": sku, "quantity": 2,
             "unit_price": "4.00"},
        ]

    def bad_bulk_rows(self) -> list[tuple[dict[str, Any], str]]:
        who = customer().external_id
        return [
            ({"external_id": "bad-1", "customer": who, "type": "search"}, "query"),
            ({"external_id": "bad-2", "customer": "unknown-customer", "type": "click"}, "customer"),
            ({"external_id": "bad-3", "customer": who, "type": "view", "product": "NO-SUCH-SKU"}, "product"),
            ({"external_id": "bad-4", "customer": who}, "type"),
        ]

    def test_same_event_posted_twice_without_id_is_a_clear_400(self, manager_client: APIClient) -> None:
        body = {"customer": customer().external_id, "type": "click", "occurred_at": "2025-03-01T12:00:00Z"}
        first = manager_client.post(self.url, body, format="json")
        assert first.status_code == 201
        assert first.json()["external_id"].startswith("sha256:")  # derived from the content
        second = manager_client.post(self.url, body, format="json")
        assert second.status_code == 400, second.content  # was a 500 (unique index)
        assert "already recorded" in second.json()["external_id"][0]
        assert Event.objects.count() == 1


    def test_patch_checks_the_event_as_a_whole(self, manager_client: APIClient) -> None:
        bought = event(customer(), "purchase", product=product(), quantity=3)
        response = manager_client.patch(self.detail(bought), {"unit_price": "5.00"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["value"] == "15.00"  # the stored quantity counts (was 5.00)
        response = manager_client.patch(self.detail(bought), {"type": "search"}, format="json")
        assert response.status_code == 400
        assert "query" in response.json()


class TestCampaigns(ListTests, GetTests, CreateTests, UpdateTests, DeleteTests):
    url = "/api/v1/campaigns/"
    model = Campaign
    builder = campaign

    def create_payload(self) -> dict[str, Any]:
        return {
            "name": "Spring mugs",
            "goal": "cross_sell",
            "brief": "Mugs for tea lovers who bought a kettle.",
            "channel": "sms",
            "brand_voice": "Warm, brief, no exclamation marks.",
        }

    def expected_created(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "status": "draft", "created_by": "manager"}

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        return [({"brief": "no name"}, "name"), ({"name": "x", "goal": "world domination"}, "goal")]

    def update_payload(self, obj: Any) -> dict[str, Any]:
        return {"brief": "Changed", "tone": "playful"}

    def replace_payload(self, obj: Any) -> dict[str, Any]:
        return {"name": "Replaced", "goal": "retention", "channel": "email"}

    def test_created_by_is_the_requesting_user_not_the_payload(self, manager_client: APIClient, analyst: Any) -> None:
        payload = {**self.create_payload(), "created_by": analyst.username}
        body = manager_client.post(self.url, payload, format="json").json()
        assert body["created_by"] == "manager"
        assert Campaign.objects.get(pk=body["id"]).created_by is not None
        assert Campaign.objects.get(pk=body["id"]).created_by.username == "manager"  # type: ignore[union-attr]


class TestJobs(ListTests, GetTests, CreateTests, DeleteTests):
    url = "/api/v1/jobs/"
    model = Job
    create_status = 202
    builder = job

    def create_payload(self) -> dict[str, Any]:
        return {"kind": "ping", "params": {"steps": 2}}

    def expected_created(self, payload: dict[str, Any]) -> dict[str, Any]:
        # no commit in a test, so the job stays queued (tests/api/test_jobs.py runs them)
        return {**payload, "status": "queued", "created_by": "manager", "attempts": 0}

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        return [
            ({"kind": "no_such_kind"}, "kind"),
            ({"params": {}}, "kind"),
            ({"kind": "ping", "params": [1, 2]}, "params"),
            ({"kind": "ping", "params": {"note": NUL}}, "params"),
        ]

    def test_jobs_are_never_edited(self, manager_client: APIClient, analyst_client: APIClient) -> None:
        never_edited = job()
        for client, code in ((manager_client, 405), (analyst_client, 403)):
            assert client.patch(self.detail(never_edited), {"status": "succeeded"}, format="json").status_code == code
            assert client.put(self.detail(never_edited), {"kind": "ping"}, format="json").status_code == code
        never_edited.refresh_from_db()
        assert never_edited.status == JobStatus.QUEUED

    def test_deleting_a_queued_job_cancels_it_first(self, manager_client: APIClient, monkeypatch: Any) -> None:
        queued = job()
        cancelled: list[int] = []
        from jobs import runner

        real_cancel = runner.cancel_job

        def spy(job: Job) -> bool:
            cancelled.append(job.pk)
            return real_cancel(job)

        monkeypatch.setattr(runner, "cancel_job", spy)
        assert manager_client.delete(self.detail(queued)).status_code == 204
        assert cancelled == [queued.pk]
