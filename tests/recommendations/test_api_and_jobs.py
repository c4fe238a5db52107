"""Recommendations API on a trained shop (content, validation, schema; who may call it: tests/api/test_read_routes.py)
and the batch precompute job."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.model_versions import models_dir
from catalog.models import ModelRole
from customers.models import Customer
from jobs.models import Job, JobStatus
from jobs.runner import JobParamsError, execute, start_job
from recommendations.models import RecommendationSet
from tests.customers.builders import customer

from .conftest import Shop


def url(customer: Customer | int | str) -> str:
    return f"/api/v1/customers/{getattr(customer, 'pk', customer)}/recommendations/"


def test_recommendations_endpoint(trained_shop: Shop, analyst_client: APIClient) -> None:
    alice = trained_shop.customers["alice"]
    response = analyst_client.get(url(alice), {"k": "4", "exclude_purchased": "false"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] == alice.pk and body["personalised"] is True and body["fallback"] == ""
    assert body["model_version"]["name"] == "test-v1"
    assert len(body["items"]) == 4
    item = body["items"][0]
    assert set(item) == {"product", "sku", "title", "category", "price", "currency", "score", "reason", "sources"}
    assert item["reason"] and item["sources"]


def test_category_and_fallback_through_the_api(trained_shop: Shop, analyst_client: APIClient) -> None:
    body = analyst_client.get(url(trained_shop.customers["alice"]), {"category": "Garden"}).json()
    assert body["items"] and all(i["category"].startswith("Garden") for i in body["items"])
    stranger = customer(external_id="stranger")
    body = analyst_client.get(url(stranger)).json()
    assert body["personalised"] is False and body["fallback"] == "popularity" and body["items"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"k": 0}, "k"), ({"k": 101}, "k"), ({"k": "ten"}, "k"), ({"exclude_purchased": "maybe"}, "exclude_purchased")],
)
def test_bad_parameters(trained_shop: Shop, analyst_client: APIClient, params: dict[str, Any], field: str) -> None:
    response = analyst_client.get(url(trained_shop.customers["alice"]), params)
    assert response.status_code == 400 and field in response.json()


def test_similar_endpoint(trained_shop: Shop, analyst_client: APIClient) -> None:
    mug = trained_shop.products["mug1"]
    response = analyst_client.get(f"/api/v1/products/{mug.pk}/similar/", {"k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["product"] == mug.pk and len(body["items"]) == 3
    assert all(item["sku"] not in {"MUG1", "MUG-OLD", "MUG-OUT"} for item in body["items"])
    assert analyst_client.get(f"/api/v1/products/{mug.pk}/similar/", {"k": 500}).status_code == 400


def test_schema_documents_the_endpoints(manager_client: APIClient) -> None:
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/customers/{customer_pk}/recommendations/"]["get"]
    assert operation["summary"] == "Recommendations for a customer"
    assert {p["name"] for p in operation["parameters"]} >= {"k", "category", "exclude_purchased"}
    assert schema["paths"]["/api/v1/products/{product_pk}/similar/"]["get"]["summary"] == "Similar products"


def test_precompute_job_writes_sets_idempotently(trained_shop: Shop, run_on_commit: None) -> None:
    job = start_job("precompute_recommendations", {"k": 5})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    customers = Customer.objects.count()
    assert RecommendationSet.objects.count() == customers == job.result["customers"]
    assert job.progress_done == job.progress_total == customers
    alice = RecommendationSet.objects.get(customer=trained_shop.customers["alice"])
    assert len(alice.items) == 5 and alice.model_version == trained_shop.extra["version"] and alice.job == job
    assert set(alice.items[0]) == {"product", "sku", "title", "score", "reason", "reason_source", "sources"}
    assert all(i["reason_source"] in i["sources"] or i["reason_source"] == "" for i in alice.items)
    first = [i["product"] for i in alice.items]

    again = start_job("precompute_recommendations", {"k": 5})
    assert RecommendationSet.objects.count() == customers
    alice.refresh_from_db()
    assert [i["product"] for i in alice.items] == first and alice.job_id == again.pk


def test_precompute_for_segments_and_ids(trained_shop: Shop, run_on_commit: None) -> None:
    start_job("precompute_recommendations", {"segment_keys": ["behaviour-garden"], "k": 3})
    assert RecommendationSet.objects.count() == 16
    start_job("precompute_recommendations", {"customer_ids": [trained_shop.customers["alice"].pk], "k": 3})
    assert RecommendationSet.objects.count() == 17
    bad = start_job("precompute_recommendations", {"segment_keys": ["no-such-segment"]})
    bad.refresh_from_db()
    assert bad.status == JobStatus.FAILED and "unknown segment key(s): no-such-segment" in bad.error


def test_train_job(shop: Shop, run_on_commit: None) -> None:
    job = start_job("train_recommender", {"name": "from-job"})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["version"] == "from-job" and job.result["active"] is True
    assert job.result["weights_source"].startswith("default")
    assert Job.objects.get(pk=job.pk).progress_done == 4


@pytest.mark.parametrize("name", ["../../../../outside", "a/b", ".."])
def test_train_job_refuses_a_name_that_is_not_a_folder_name(
    shop: Shop, run_on_commit: None, name: str
) -> None:
    """`{"name": "../../../../outside"}` made the worker write outside var/ (issue 13)."""
    with pytest.raises(JobParamsError, match="version name"):  # refused when the job is created
        start_job("train_recommender", {"name": name})
    job = Job.objects.create(kind="train_recommender", params={"name": name})  # a row written otherwise
    assert execute(job.pk) == JobStatus.FAILED  # the worker refuses it too
    job.refresh_from_db()
    assert "version name" in job.error
    assert not (models_dir(ModelRole.RECOMMENDER) / "../../../../outside").resolve().exists()


def test_admin_shows_sets(trained_shop: Shop, run_on_commit: None, admin_client: Any) -> None:
    start_job("precompute_recommendations", {"k": 3})
    alice = trained_shop.customers["alice"]
    assert admin_client.get("/admin/recommendations/recommendationset/").status_code == 200
    page = admin_client.get(f"/admin/recommendations/recommendationset/{alice.pk}/change/")
    assert page.status_code == 200 and b"<table>" in page.content and b"reason" in page.content
