"""Failed token authentications are counted per client address in the shared cache: past the limit in a
minute, every token request from that address is 429, a valid key included (else a guess that hit would
be told apart); other addresses are unaffected, and the count ends with its minute."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from access.tokens import issue_token

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/products/"


@pytest.fixture(autouse=True)
def _limit(settings: object) -> None:
    settings.API_FAILED_AUTH_PER_MINUTE = 5  # type: ignore[attr-defined]


def attempt(key: str, address: str = "203.0.113.7") -> int:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(PRODUCTS).status_code


def test_failures_from_an_address_are_throttled_then_even_a_valid_key(manager: User) -> None:
    _, key = issue_token(manager, "full")
    assert attempt(key) == 200
    assert [attempt(f"ecm_guess-{i:040d}") for i in range(5)] == [401] * 5
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(PRODUCTS)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "failed authentications" in response.json()["detail"]
    assert attempt(key, address="198.51.100.2") == 200  # another address is not affected
    cache.delete("auth-failures:203.0.113.7")  # the minute has passed
    assert attempt(key) == 200


def test_malformed_headers_count_as_failures(manager: User) -> None:
    client = APIClient(REMOTE_ADDR="203.0.113.8")
    client.credentials(HTTP_AUTHORIZATION="Token two parts")
    assert [client.get(PRODUCTS).status_code for _ in range(6)] == [401] * 5 + [429]
