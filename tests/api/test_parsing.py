"""Hostile JSON bodies: deep nesting is a 400 that says why, on every kind of JSON endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.parsers import MAX_DEPTH, depth_of

ROUTES = [
    "products/", "products/bulk/", "events/bulk/", "customers/", "jobs/", "campaigns/", "assistant/conversations/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
def test_json_nested_a_thousand_deep_is_a_400(manager_client: APIClient, route: str) -> None:
    body = "[" * 1000 + "]" * 1000
    response = manager_client.post(f"/api/v1/{route}", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "nested deeper than" in response.json()["detail"]


@pytest.mark.django_db
def test_json_just_past_the_bound_is_refused_and_at_the_bound_parsed(manager_client: APIClient) -> None:
    too_deep = '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    response = manager_client.post("/api/v1/products/", too_deep, content_type="application/json")
    assert response.status_code == 400 and "nested deeper than" in response.json()["detail"]
    at_bound = {"sku": "DEEP-1", "title": "Deep", "attributes": {"a": [[1]]}}
    assert manager_client.post("/api/v1/products/", at_bound, format="json").status_code == 201


def test_depth_of_counts_containers() -> None:
    assert depth_of(1) == 0
    assert depth_of([]) == 1
    assert depth_of({"a": [1, {"b": []}]}) == 4
    assert depth_of([[[[]]]] * 3) == 4
