"""Authentication and throttling: tokens, sessions with CSRF, the API root, rate limits."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.catalog.builders import product

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
BODY = {"sku": "S-1", "title": "Session mug"}


def test_bad_token_is_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(PRODUCTS)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_session_login_reads_and_csrf_guards_writes(manager: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(manager)
    product()
    assert client.get(PRODUCTS).status_code == 200  # safe methods need no CSRF token

    response = client.post(PRODUCTS, BODY, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]

    client.get("/admin/login/")  # any page that hands out the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(PRODUCTS, BODY, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def test_session_user_permissions_apply(analyst: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(analyst)
    assert client.get(PRODUCTS).status_code == 200
    client.get("/admin/login/")
    response = client.post(PRODUCTS, BODY, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 403  # CSRF passed; the analyst may not add


def test_token_requests_need_no_csrf(manager_client: APIClient) -> None:
    manager_client.handler.enforce_csrf_checks = True
    assert manager_client.post(PRODUCTS, BODY, format="json").status_code == 201


def test_api_root_lists_every_endpoint_to_signed_in_users(anon_client: APIClient, nobody_client: APIClient) -> None:
    assert anon_client.get("/api/v1/").status_code == 401
    body = nobody_client.get("/api/v1/").json()
    assert set(body) == {
        "products", "reviews", "customers", "events", "segments", "campaigns", "jobs", "product-questions", "articles",
        "assistant/conversations",
    }


@pytest.fixture
def low_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    """DRF copies DEFAULT_THROTTLE_RATES into `SimpleRateThrottle.THROTTLE_RATES` when the module is
    imported, so overriding settings.REST_FRAMEWORK later changes nothing: replace the class attribute
    for this test instead (monkeypatch restores it). The cache is cleared around each test by
    tests/api/conftest.py, so earlier requests do not count."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "2/minute"})


def test_users_are_throttled_after_their_rate(
    low_rates: None, manager_client: APIClient, analyst_client: APIClient
) -> None:
    for _ in range(3):
        assert manager_client.get(PRODUCTS).status_code == 200
    response = manager_client.get(PRODUCTS)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"].lower()
    assert analyst_client.get(PRODUCTS).status_code == 200  # the limit is per user


def test_anonymous_clients_are_throttled_after_their_rate(low_rates: None, anon_client: APIClient) -> None:
    # the Swagger UI is public, so it is what an anonymous client can exhaust
    assert [anon_client.get("/api/docs/").status_code for _ in range(3)] == [200, 200, 429]


def test_default_rates_come_from_settings() -> None:
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == SimpleRateThrottle.THROTTLE_RATES
