"""Token scopes: read writes nothing, ingest only writes catalog/customer data, full is the user's own
permissions. Checked in the token authentication, so views with their own permission classes (campaign
steps, variants, the assistant) are covered too."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from campaigns.models import Campaign
from customers.models import Event
from tests.campaigns.builders import campaign
from tests.catalog.builders import product
from tests.conftest import token_client
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_client(manager: User) -> APIClient:
    return token_client(manager, "read")


@pytest.fixture
def ingest_client(manager: User) -> APIClient:
    return token_client(manager, "ingest")


def test_a_read_token_reads(read_client: APIClient) -> None:
    product()
    for url in ("/api/v1/products/", "/api/v1/customers/", "/api/v1/campaigns/", "/api/v1/jobs/"):
        assert read_client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/products/", {"sku": "R-1", "title": "Mug"}),
        ("post", "/api/v1/products/bulk/", [{"sku": "R-1", "title": "Mug"}]),
        ("post", "/api/v1/campaigns/", {"name": "Spring"}),
        ("post", "/api/v1/jobs/", {"kind": "ping"}),
        ("post", "/api/v1/assistant/conversations/", {}),
    ],
)
def test_a_read_token_writes_nothing(read_client: APIClient, method: str, url: str, body: object) -> None:
    response = getattr(read_client, method)(url, body, format="json")
    assert response.status_code == 403, response.content
    assert "read-only" in response.json()["detail"]


def test_a_read_token_cannot_delete_or_step_a_campaign(read_client: APIClient) -> None:
    camp = campaign()
    assert read_client.delete(f"/api/v1/products/{product().pk}/").status_code == 403
    assert read_client.post(f"/api/v1/campaigns/{camp.pk}/transition/", {"to": "cancelled"}).status_code == 403
    assert Campaign.objects.filter(pk=camp.pk).exists()


def test_an_ingest_token_writes_singly_and_in_bulk(ingest_client: APIClient) -> None:
    assert ingest_client.post("/api/v1/products/", {"sku": "I-1", "title": "Mug"}, format="json").status_code == 201
    customer(external_id="ann")
    rows = [{"customer": "ann", "type": "view", "product": "I-1", "external_id": "e-1"}]
    response = ingest_client.post("/api/v1/events/bulk/", rows, format="json")
    assert response.status_code == 200, response.content
    assert Event.objects.count() == 1
    for url, body in (
        ("/api/v1/customers/", {"external_id": "bob", "email": "bob@example.com"}),
        ("/api/v1/reviews/bulk/", [{"external_id": "r-1", "product": "I-1", "rating": 5, "text": "Good"}]),
    ):
        assert ingest_client.post(url, body, format="json").status_code in (200, 201), url
    assert ingest_client.patch(f"/api/v1/products/{product(sku='I-2').pk}/", {"title": "Cup"}, format="json"
                               ).status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/v1/products/", None),
        ("get", "/api/v1/customers/", None),
        ("get", "/api/v1/jobs/", None),
        ("post", "/api/v1/campaigns/", {"name": "Spring"}),
        ("post", "/api/v1/jobs/", {"kind": "ping"}),
        ("post", "/api/v1/articles/", {"title": "Returns", "body": "30 days"}),
        ("post", "/api/v1/assistant/conversations/", {}),
    ],
)
def test_an_ingest_token_reads_nothing_and_writes_only_data(
    ingest_client: APIClient, method: str, url: str, body: object
) -> None:
    response = getattr(ingest_client, method)(url, body, format="json")
    assert response.status_code == 403, response.content
    assert "may only write" in response.json()["detail"]


def test_an_ingest_token_deletes_nothing(ingest_client: APIClient) -> None:
    assert ingest_client.delete(f"/api/v1/products/{product().pk}/").status_code == 403


def test_a_full_token_is_its_users_permissions(analyst: User) -> None:
    client = token_client(analyst, "full")
    assert client.get("/api/v1/products/").status_code == 200
    assert client.post("/api/v1/products/", {"sku": "F-1", "title": "Mug"}, format="json").status_code == 403
    # a scope never adds: an analyst's ingest token writes nothing either
    ingest = token_client(analyst, "ingest")
    assert ingest.post("/api/v1/products/", {"sku": "F-1", "title": "Mug"}, format="json").status_code == 403
