"""Profile and segment endpoints: content, permissions per role, bad input; events queue profile updates
when a worker runs; the admin pages show profiles and segments."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.model_versions import record_version
from catalog.models import ModelRole
from customers import profiles
from customers.models import Segment
from jobs.models import Job, JobStatus
from tests.api.action_mixins import client_with
from tests.catalog.builders import product
from tests.customers.builders import NOW, customer, event, prediction, purchase
from tests.vectors import basis, fake_embed

pytestmark = pytest.mark.django_db


@pytest.fixture
def built() -> dict[str, Any]:
    mug = product(embedding=basis(0), title="Stoneware mug", category="Home > Kitchen > Mugs", brand="Clayco")
    ann, bob = customer(external_id="ann", name="ann"), customer(external_id="bob", name="bob")  # shown by name
    purchase(ann, mug, days_ago=3, order_id="o1", value="12.00")
    event(ann, "search", days_ago=1, query="blue mug")
    event(bob, "view", product=mug, days_ago=2)
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    prediction(ann, "churn", probability=0.25, model_version=record_version(ModelRole.CHURN, "churn-test"))
    return {"ann": ann, "bob": bob, "mug": mug}


def test_profile_shows_interests_rfm_lifecycle_segments_predictions(
    built: dict[str, Any], analyst_client: APIClient
) -> None:
    response = analyst_client.get(f"/api/v1/customers/{built['ann'].pk}/profile/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] == "ann"
    assert body["lifecycle"] == "new"
    assert body["rfm"]["orders"] == 1 and body["rfm"]["revenue"] == "12.00"
    assert body["rfm"]["rfm_score"]
    assert body["interests"]["categories"][0][0] == "Home > Kitchen > Mugs"
    assert {"blue", "mug"} <= {k for k, _ in body["interests"]["keywords"]}
    assert [s["key"] for s in body["segments"]] == ["lifecycle-new"]
    assert body["has_vector"] is True
    assert "vector" not in body and "vector_sum" not in body
    assert body["predictions"][0]["target"] == "churn"
    assert body["predictions"][0]["probability"] == 0.25
    assert body["predictions"][0]["model_version"]["name"] == "churn-test"


def test_profile_of_a_customer_without_one_is_404(manager_client: APIClient) -> None:
    newcomer = customer()
    response = manager_client.get(f"/api/v1/customers/{newcomer.pk}/profile/")
    assert response.status_code == 404 and "no profile yet" in response.json()["detail"]


def test_profile_leaves_out_predictions_without_their_permission(built: dict[str, Any]) -> None:
    reader = client_with("customers.view_customer", "customers.view_customerprofile")
    body = reader.get(f"/api/v1/customers/{built['ann'].pk}/profile/").json()
    assert body["customer"] == "ann" and "predictions" not in body  # no view_customerprediction


def test_segments_list_filter_and_members(built: dict[str, Any], analyst_client: APIClient) -> None:
    response = analyst_client.get("/api/v1/segments/", {"kind": "lifecycle"})
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()["results"]}
    assert rows["lifecycle-new"]["size"] == 1 and rows["lifecycle-prospect"]["size"] == 1
    assert "centroid" not in rows["lifecycle-new"]
    assert analyst_client.get("/api/v1/segments/", {"kind": "behavioural"}).json()["count"] == 0
    assert analyst_client.get("/api/v1/segments/", {"kind": "nonsense"}).status_code == 400
    new = Segment.objects.get(key="lifecycle-new")
    members = analyst_client.get(f"/api/v1/segments/{new.pk}/members/", {"page_size": 1})
    assert members.status_code == 200
    assert members.json()["results"] == [{"id": built["ann"].pk, "external_id": "ann"}]


def test_events_queue_one_profile_update_when_a_worker_runs(manager_client: APIClient, settings: Any) -> None:
    who, item = customer(external_id="eve"), product(embedding=basis(0))
    row = {"customer": "eve", "product": item.sku, "type": "view", "occurred_at": "2025-05-01T10:00:00Z"}
    # eager mode (no worker): nothing is queued, an API call never waits for the embedder
    assert manager_client.post("/api/v1/events/", row, format="json").status_code == 201
    assert not Job.objects.filter(kind="update_profiles").exists()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert manager_client.post("/api/v1/events/", {**row, "type": "click"}, format="json").status_code == 201
    bulk = [{**row, "type": "add_to_cart"}, {**row, "type": "search", "query": "mugs", "product": None}]
    assert manager_client.post("/api/v1/events/bulk/", bulk, format="json").status_code == 200
    queued = Job.objects.filter(kind="update_profiles", status=JobStatus.QUEUED)
    assert queued.count() == 1  # the queued one will fold in every new event
    assert queued.get().queue == "inference"
    assert who.events.count() == 4


def test_admin_shows_profile_predictions_and_segment_members(built: dict[str, Any], admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:customers_customer_change", args=[built["ann"].pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Home &gt; Kitchen &gt; Mugs" in text and "RFM score" in text and "Churn risk" in text
    segment = Segment.objects.get(key="lifecycle-new")
    listing = admin_client.get(reverse("admin:customers_segment_changelist"))
    assert listing.status_code == 200 and f"?segment={segment.pk}" in listing.content.decode()
    members = admin_client.get(reverse("admin:customers_customer_changelist"), {"segment": segment.pk})
    assert members.status_code == 200
    assert "ann" in members.content.decode() and ">bob<" not in members.content.decode()
    by_stage = admin_client.get(reverse("admin:customers_customer_changelist"), {"lifecycle": "prospect"})
    assert by_stage.status_code == 200 and "bob" in by_stage.content.decode()
    assert admin_client.get(reverse("admin:customers_segment_change", args=[segment.pk])).status_code == 200
