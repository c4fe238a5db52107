"""Unknown query parameters and invalid filter values on list endpoints are a 400 naming the parameter (they
answered the whole, unfiltered list); a JSON body past DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 naming the limit
(DRF read it whole, past Django's check)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from tests.catalog.builders import product, review
from tests.customers.builders import customer, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows() -> None:
    ann = customer(external_id="ann", email="ann@example.com")
    mug = product(sku="MUG", price="9.50")
    review(product=mug)
    event(ann, "view", product=mug)


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/customers/?emial=ann@example.com", "emial"),
        ("/api/v1/events/?custmer=ann", "custmer"),
        ("/api/v1/products/?colour=blue", "colour"),
        ("/api/v1/reviews/?stars=5", "stars"),
        ("/api/v1/products/?search=mug&skew=MUG", "skew"),
    ],
)
def test_an_unknown_parameter_is_a_400_naming_it(rows: None, analyst_client: APIClient, url: str, param: str) -> None:
    response = analyst_client.get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [param]
    assert "unknown query parameter" in body[param][0] and "page_size" in body[param][0]


@pytest.mark.parametrize(
    ("url", "param", "words"),
    [
        ("/api/v1/customers/?marketing_consent=maybe", "marketing_consent", "true or false"),
        ("/api/v1/products/?is_active=yes-please", "is_active", "true or false"),
        ("/api/v1/products/?ordering=prise", "ordering", "cannot order by 'prise'"),
        ("/api/v1/reviews/?ordering=-rating,stars", "ordering", "cannot order by 'stars'"),
        ("/api/v1/events/?type=teleport", "type", "teleport"),
        ("/api/v1/products/?min_price=cheap", "min_price", "number"),
        ("/api/v1/customers/?page_size=lots", "page_size", "whole number"),
        ("/api/v1/events/?page_size=0", "page_size", "whole number"),
    ],
)
def test_an_invalid_value_is_a_400_naming_the_parameter(
    rows: None, analyst_client: APIClient, url: str, param: str, words: str
) -> None:
    response = analyst_client.get(url)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[param])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/?email=ann@example.com&marketing_consent=false&ordering=-created_at&page=1&page_size=10",
        "/api/v1/events/?customer=ann&type=view&type=purchase&ordering=occurred_at&page_size=5",
        "/api/v1/products/?search=mug&is_active=true&min_price=1&ordering=-price,sku&format=json",
        "/api/v1/reviews/?product=MUG&min_rating=1&search=good",
    ],
)
def test_known_parameters_still_filter(rows: None, analyst_client: APIClient, url: str) -> None:
    assert analyst_client.get(url).status_code == 200


def test_detail_views_and_actions_keep_their_own_parameters(rows: None, analyst_client: APIClient) -> None:
    mug = Product.objects.get()
    assert analyst_client.get(f"/api/v1/products/{mug.pk}/?format=json").status_code == 200


def test_a_json_body_past_the_upload_limit_is_a_413(manager_client: APIClient, settings: object) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096  # type: ignore[attr-defined]
    small = {"sku": "S-1", "title": "Mug", "description": "x" * 1000}
    assert manager_client.post("/api/v1/products/", small, format="json").status_code == 201
    big = [{"sku": f"B-{i}", "title": "Mug", "description": "x" * 1000} for i in range(5)]
    response = manager_client.post("/api/v1/products/bulk/", big, format="json")
    assert response.status_code == 413
    assert "4096 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)" in response.json()["detail"]
    assert not Product.objects.filter(sku__startswith="B-").exists()


def test_a_body_without_a_length_is_still_bounded(manager_client: APIClient, settings: object) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096  # type: ignore[attr-defined]
    body = json.dumps([{"sku": f"B-{i}", "title": "x" * 1000} for i in range(5)])
    response = manager_client.generic("POST", "/api/v1/products/bulk/", body, content_type="application/json",
                                      CONTENT_LENGTH="")
    assert response.status_code in (400, 413)  # no length: nothing is read (400) or the read is cut (413)
    assert not Product.objects.exists()
