"""The OpenAPI schema and its Swagger UI: every endpoint documented, valid OpenAPI 3, no warnings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from ecommarketing.api import router

pytestmark = pytest.mark.django_db

ACTION_METHODS = {
    "list": ("", "get"), "create": ("", "post"),
    "retrieve": ("{id}/", "get"), "update": ("{id}/", "put"), "partial_update": ("{id}/", "patch"),
    "destroy": ("{id}/", "delete"),
}


def expected_operations() -> set[tuple[str, str]]:
    """(path, method) of every operation the router serves, read from the viewsets themselves."""
    found = set()
    for prefix, viewset, _ in router.registry:
        # nested routes register a regex prefix: customers/(?P<customer_pk>[^/.]+)/recommendations
        base = "/api/v1/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", prefix) + "/"
        for name, (suffix, method) in ACTION_METHODS.items():
            if hasattr(viewset, name):
                found.add((base + suffix, method))
        extra: Any  # functions carrying the @action attributes
        for extra in viewset.get_extra_actions():
            url_path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", extra.url_path)  # jobs/{id}/chunks/{index}/retry
            path = f"{base}{'{id}/' if extra.detail else ''}{url_path}/"
            found.update((path, method.lower()) for method in extra.mapping)
    return found


@pytest.fixture
def schema(anon_client: APIClient) -> dict[str, Any]:
    response = anon_client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_3_with_every_operation(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    served = {(path, method) for path, item in schema["paths"].items() for method in item}
    expected = expected_operations()
    assert len(expected) >= 40  # 6 endpoints; a broken registry read must not pass vacuously
    assert served == expected
    for name in ("products", "reviews", "customers", "events"):
        assert ("/api/v1/" + name + "/bulk/", "post") in served
    assert ("/api/v1/jobs/{id}/retry/", "post") in served and ("/api/v1/jobs/{id}/", "put") not in served


def test_every_operation_has_a_summary_and_a_description(schema: dict[str, Any]) -> None:
    missing = [
        (path, method)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if not operation.get("summary", "").strip() or not operation.get("description", "").strip()
    ]
    assert not missing
    summaries = [op["summary"] for item in schema["paths"].values() for op in item.values()]
    assert "Start a job" in summaries and "List products" in summaries


def test_schema_documents_auth_bulk_and_cursor(schema: dict[str, Any]) -> None:
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    bulk = schema["paths"]["/api/v1/events/bulk/"]["post"]
    assert bulk["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    assert {"200", "400"} <= set(bulk["responses"])
    assert "create_missing" in {p["name"] for p in bulk.get("parameters", [])}
    events = schema["paths"]["/api/v1/events/"]["get"]
    params = {p["name"] for p in events["parameters"]}
    assert {"cursor", "customer", "type", "occurred_after", "occurred_before"} <= params
    assert "page" not in params
    assert {"category", "brand", "min_price", "max_price", "in_stock", "search", "page"} <= {
        p["name"] for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]
    }
    jobs = schema["paths"]
    errors = {"400", "401", "403", "404", "429"}  # core.schema.AutoSchema's defaults, on every operation
    assert set(jobs["/api/v1/jobs/"]["post"]["responses"]) == {"202", "400", "413", "415"} | errors  # what it answers
    assert set(jobs["/api/v1/jobs/{id}/retry/"]["post"]["responses"]) == {"202", "409", "413", "415"} | errors
    assert set(jobs["/api/v1/jobs/{id}/cancel/"]["post"]["responses"]) == {"200", "409", "413", "415"} | errors
    assert set(jobs["/api/v1/jobs/{id}/"]["get"]["responses"]) == {"200"} | errors  # 413 and 415 only with a body


def test_schema_documents_nulls_blank_choices_and_bulk_refusals(schema: dict[str, Any]) -> None:
    """What schemathesis found: null authors and model versions, "" choices, a single object documented as
    a list, bulk 400s that are no report."""
    components = schema["components"]["schemas"]
    assert components["Campaign"]["properties"]["created_by"]["nullable"] is True
    assert components["Campaign"]["properties"]["status_changed_by"]["nullable"] is True
    assert components["Job"]["properties"]["created_by"]["nullable"] is True
    assert components["Segment"]["properties"]["model_version"]["nullable"] is True
    handoff = components["Conversation"]["properties"]["handoff_reason"]["oneOf"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in handoff
    recommendations = schema["paths"]["/api/v1/customers/{customer_pk}/recommendations/"]["get"]["responses"]
    assert recommendations["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CustomerRecommendations"
    }
    bulk = schema["paths"]["/api/v1/products/bulk/"]["post"]
    assert set(bulk["requestBody"]["content"]) == {"application/json"}  # rows are JSON only
    bulk_400 = bulk["responses"]["400"]
    refused = bulk_400["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/ProductBulkReport"} in refused
    report = schema["components"]["schemas"]["ProductBulkReport"]["properties"]["ids"]["items"]
    assert report == {"$ref": "#/components/schemas/ProductWritten"}
    assert set(schema["components"]["schemas"]["ProductWritten"]["properties"]) == {"sku", "id", "created"}


def test_unknown_api_url_answers_json_404(anon_client: APIClient) -> None:
    response = anon_client.get("/api/v1/campaigns/1.5/results/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_schema_as_json(anon_client: APIClient) -> None:
    response = anon_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "ecommarketing API"


def test_schema_generation_has_no_warnings(tmp_path: Any) -> None:
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


def test_swagger_ui_renders(anon_client: APIClient) -> None:
    response = anon_client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    assert "/api/schema/" in anon_client.get("/api/docs/?script=").content.decode()  # its script, not inline
