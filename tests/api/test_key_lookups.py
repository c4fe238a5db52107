"""Looking objects up by the shop's keys: `?sku=` and `?external_id=` filters, the `by-sku/{sku}/` and
`by-external-id/{external_id}/` routes (which answer what the pk routes answer, sub-routes included, for
keys with any character), and the ids a bulk upsert reports."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from catalog.models import Product
from customers.models import Customer
from tests.catalog.builders import product, product_insight
from tests.conftest import token_client
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db

ODD_KEYS = ["a/b", "ann@example.com", "x+y", "with space", "50%", "q?x#y", "ünï", "a/export"]


def by_sku(sku: str, below: str = "") -> str:
    return f"/api/v1/products/by-sku/{quote(sku, safe='')}/{below}"


def by_external_id(external_id: str, below: str = "") -> str:
    return f"/api/v1/customers/by-external-id/{quote(external_id, safe='')}/{below}"


def test_filters_match_the_key_exactly(analyst_client: APIClient) -> None:
    product(sku="ABC")
    product(sku="ABCD")
    customer(external_id="X")
    customer(external_id="XY")
    products = analyst_client.get("/api/v1/products/", {"sku": "ABC"}).json()["results"]
    assert [row["sku"] for row in products] == ["ABC"]
    customers = analyst_client.get("/api/v1/customers/", {"external_id": "X"}).json()["results"]
    assert [row["external_id"] for row in customers] == ["X"]
    assert analyst_client.get("/api/v1/customers/", {"external_id": "nope"}).json()["results"] == []


def test_key_routes_answer_what_the_pk_routes_answer(analyst_client: APIClient) -> None:
    mug = product(sku="MUG-1")
    ann = customer(external_id="ann-1")
    assert analyst_client.get(by_sku("MUG-1")).json() == analyst_client.get(f"/api/v1/products/{mug.pk}/").json()
    by_key = analyst_client.get(by_external_id("ann-1"))
    assert by_key.status_code == 200
    assert by_key.json() == analyst_client.get(f"/api/v1/customers/{ann.pk}/").json()


@pytest.mark.parametrize("key", ODD_KEYS)
def test_keys_with_any_character_percent_encoded(analyst_client: APIClient, key: str) -> None:
    made = customer(external_id=key)
    item = product(sku=key)
    response = analyst_client.get(by_external_id(key))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == made.pk
    response = analyst_client.get(by_sku(key))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == item.pk
    filtered = analyst_client.get("/api/v1/customers/", {"external_id": key}).json()["results"]
    assert [row["id"] for row in filtered] == [made.pk]


def test_a_key_ending_like_a_sub_route_prefers_the_longest_existing_key(manager_client: APIClient) -> None:
    """`a/export` as a key and `a` with its export route read the same decoded path: the whole key wins
    when it exists, the sub-route otherwise."""
    whole = customer(external_id="a/export")
    assert manager_client.get(by_external_id("a/export")).json()["id"] == whole.pk
    short = customer(external_id="b")
    exported = manager_client.get("/api/v1/customers/by-external-id/b/export/")
    assert exported.status_code == 200, exported.content
    by_pk = manager_client.get(f"/api/v1/customers/{short.pk}/export/").json()
    assert {**exported.json(), "exported_at": None} == {**by_pk, "exported_at": None}


def test_sub_routes_under_the_key(manager_client: APIClient) -> None:
    mug = product(sku="MUG/2")
    product_insight(mug)
    insight = manager_client.get(by_sku("MUG/2", "insight/"))
    assert insight.status_code == 200, insight.content
    assert insight.json() == manager_client.get(f"/api/v1/products/{mug.pk}/insight/").json()
    ann = customer(external_id="ann@shop")
    profile = manager_client.get(by_external_id("ann@shop", "profile/"))
    assert profile.status_code == 404  # as the pk route: no profile built yet
    assert profile.json() == manager_client.get(f"/api/v1/customers/{ann.pk}/profile/").json()
    recommendations = manager_client.get(by_external_id("ann@shop", "recommendations/"))
    pk_recommendations = manager_client.get(f"/api/v1/customers/{ann.pk}/recommendations/")
    assert recommendations.status_code == pk_recommendations.status_code


def test_unknown_key_is_404_naming_it(manager_client: APIClient) -> None:
    response = manager_client.get(by_sku("NO-SUCH"))
    assert response.status_code == 404
    assert response.json() == {"detail": "no product with sku 'NO-SUCH'"}
    response = manager_client.get(by_external_id("who/else", "export/"))
    assert response.status_code == 404
    assert response.json() == {"detail": "no customer with external_id 'who/else'"}
    assert manager_client.get("/api/v1/products/by-sku/NO-SUCH/no-such-route/").status_code == 404
    assert manager_client.get("/api/v1/products/by-sku/NO-SUCH").status_code in {301, 404}


def test_access_is_the_pk_routes(anon_client: APIClient, nobody_client: APIClient, manager: User) -> None:
    product(sku="P1")
    customer(external_id="C1")
    # no hint whether a key exists without credentials or permission
    for url in (by_sku("P1"), by_sku("NOPE"), by_external_id("C1")):
        assert anon_client.get(url).status_code == 401
        assert nobody_client.get(url).status_code == 403
    ingest = token_client(manager, "ingest")
    assert ingest.get(by_sku("P1")).status_code == 403  # an ingest token reads nothing
    response = ingest.patch(by_sku("P1"), {"title": "Renamed"}, format="json")
    assert response.status_code == 200, response.content
    assert Product.objects.get(sku="P1").title == "Renamed"
    assert ingest.delete(by_sku("P1")).status_code == 403
    read = token_client(manager, "read")
    assert read.get(by_external_id("C1")).status_code == 200
    assert read.patch(by_external_id("C1"), {"name": "X"}, format="json").status_code == 403


def test_manager_updates_through_the_key(manager_client: APIClient) -> None:
    customer(external_id="c/9", name="Old")
    response = manager_client.patch(by_external_id("c/9"), {"name": "New"}, format="json")
    assert response.status_code == 200, response.content
    assert Customer.objects.get(external_id="c/9").name == "New"


def test_bulk_reply_lists_the_ids_it_wrote(manager_client: APIClient) -> None:
    old = product(sku="OLD")
    rows = [
        {"sku": "NEW", "title": "New", "price": "3.00"},
        {"sku": "OLD", "title": "Old again"},
        {"sku": "BAD", "price": "lots"},
    ]
    response = manager_client.post("/api/v1/products/bulk/", rows, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["rejected"]) == (1, 1, 1)
    new = Product.objects.get(sku="NEW")
    assert body["ids"] == [
        {"sku": "NEW", "id": new.pk, "created": True},
        {"sku": "OLD", "id": old.pk, "created": False},
    ]
    response = manager_client.post(
        "/api/v1/customers/bulk/", [{"external_id": "c/1", "email": "c1@example.com"}], format="json"
    )
    made = Customer.objects.get(external_id="c/1")
    assert response.json()["ids"] == [{"external_id": "c/1", "id": made.pk, "created": True}]


def test_bulk_reply_when_every_row_is_rejected_has_no_ids(manager_client: APIClient) -> None:
    response = manager_client.post("/api/v1/products/bulk/", [{"sku": "BAD", "price": "lots"}], format="json")
    assert response.status_code == 400
    assert response.json()["ids"] == []
