"""Campaign API behaviour: its fields, status only through transition/, the steps' refusals, audience, preview and
variant review (who may call each route: tests/api/test_read_routes.py and test_step_routes.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from campaigns.brand import current_brand
from campaigns.models import Campaign, CampaignTransition, Variant
from jobs.models import Job
from tests.catalog.builders import product
from tests.customers.builders import segment

from .builders import UNSUBSCRIBE_LINE, approvable, campaign, experiment, subscriber, variant

pytestmark = pytest.mark.django_db
URL = "/api/v1/campaigns/"


def test_create_with_segments_products_and_filters(manager_client: APIClient) -> None:
    seg = segment(key="tea", name="Tea")
    item = product()
    payload = {
        "name": "Tea time", "brief": "Mugs for tea lovers", "channel": "email", "segments": [seg.pk],
        "products": [item.pk], "audience_filters": {"lifecycle": ["at_risk"], "min_orders": 1},
        "banned_words": ["cheap"], "required_text": UNSUBSCRIBE_LINE, "offer": "10% off",
        "landing_url": "https://shop.example.com/tea",
    }
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["segments"], body["products"], body["status"]) == ([seg.pk], [item.pk], "draft")
    listed = manager_client.get(URL).json()["results"][0]
    assert (listed["segments"], listed["products"]) == ([seg.pk], [item.pk])


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"audience_filters": {"planet": "mars"}}, "audience_filters", "unknown audience filter"),
        ({"audience_filters": {"min_orders": -2}}, "audience_filters", "whole number >= 0"),
        ({"audience_filters": {"category": ""}}, "audience_filters", "'category': expected a non-empty string"),
        ({"segments": [987654]}, "segments", "Invalid pk"),
        ({"banned_words": "cheap"}, "banned_words", "list of non-empty words"),
        ({"status": "approved"}, "status", "transition/"),
    ],
)
def test_bad_fields_are_400(manager_client: APIClient, payload: dict[str, Any], field: str, message: str) -> None:
    response = manager_client.post(URL, {"name": "x", **payload}, format="json")
    assert response.status_code == 400
    assert message in str(response.json()[field])


def test_status_changes_only_through_transition(manager_client: APIClient) -> None:
    camp = approvable()
    response = manager_client.patch(f"{URL}{camp.pk}/", {"status": "running"}, format="json")
    assert response.status_code == 400 and "transition/" in str(response.json()["status"])
    bad = manager_client.post(f"{URL}{camp.pk}/transition/", {"to": "running"}, format="json")
    assert bad.status_code == 400 and "cannot go from in_review to running" in bad.json()["detail"]
    unknown = manager_client.post(f"{URL}{camp.pk}/transition/", {"to": "paused"}, format="json")
    assert unknown.status_code == 400 and "unknown status" in str(unknown.json()["to"])
    ok = manager_client.post(f"{URL}{camp.pk}/transition/", {"to": "approved", "note": "lgtm"}, format="json")
    assert ok.status_code == 200, ok.content
    assert (ok.json()["status"], ok.json()["status_changed_by"]) == ("approved", "manager")
    assert CampaignTransition.objects.get(campaign=camp).note == "lgtm"


def test_running_campaign_cannot_be_edited(manager_client: APIClient) -> None:
    camp = campaign(status="running")
    response = manager_client.patch(f"{URL}{camp.pk}/", {"brief": "Changed"}, format="json")
    assert response.status_code == 400 and "cannot be edited" in str(response.json())


def test_detail_has_variants(analyst_client: APIClient) -> None:
    camp = approvable()
    body = analyst_client.get(f"{URL}{camp.pk}/").json()
    assert [v["label"] for v in body["variants"]] == ["A"]
    assert body["variants"][0]["status"] == "approved"


def test_audience_and_preview(analyst_client: APIClient) -> None:
    camp = approvable(landing_url="https://shop.example.com/x")
    cust = subscriber(name="Grace Hopper")
    response = analyst_client.get(f"{URL}{camp.pk}/audience/?sample=1")
    assert response.status_code == 200
    assert response.json()["size"] == 2 and len(response.json()["sample"]) == 1
    assert analyst_client.get(f"{URL}{camp.pk}/audience/?sample=abc").status_code == 400
    v = camp.variants.get()
    preview = analyst_client.get(f"{URL}{camp.pk}/preview/?customer={cust.pk}&variant={v.pk}")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    copy, link = body["body"].rsplit("\n\nUnsubscribe: ", 1)
    # the footer: the required text, then the brand's name (and address), then the signed link
    assert copy.startswith("Hi Grace,") and copy.endswith(f"{UNSUBSCRIBE_LINE}\n\n{current_brand().name}")
    assert "/unsubscribe/" in link and body["html"].count(link) == 1
    assert "utm_campaign=campaign-" in body["body"]
    assert analyst_client.get(f"{URL}{camp.pk}/preview/?customer=987654").status_code == 404
    assert analyst_client.get(f"{URL}{camp.pk}/preview/?variant=987654").status_code == 404
    camp.audience_filters = {"planet": "mars"}
    camp.save()
    bad = analyst_client.get(f"{URL}{camp.pk}/audience/")
    assert bad.status_code == 400 and "unknown audience filter" in bad.json()["detail"]


def test_send_needs_approval_and_starts_the_job(manager_client: APIClient, run_on_commit: None) -> None:
    camp = approvable()
    refused = manager_client.post(f"{URL}{camp.pk}/send/")
    assert refused.status_code == 400 and "this one is in_review" in refused.json()["detail"]
    Campaign.objects.filter(pk=camp.pk).update(status="approved")
    experiment(camp)
    untested = manager_client.post(f"{URL}{camp.pk}/send/", {"confirm_recipients": 1}, format="json")
    assert untested.status_code == 400 and untested.json()["detail"].startswith("send a test first: no test was sent")
    assert manager_client.post(f"{URL}{camp.pk}/test-send/").status_code == 200
    response = manager_client.post(f"{URL}{camp.pk}/send/", {"confirm_recipients": 1}, format="json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.params["campaign_id"], job.status) == ("send_campaign", camp.pk, "succeeded")
    assert job.result["sent"] == 1


def test_generate_refuses_approved_campaigns(manager_client: APIClient) -> None:
    camp = approvable()
    Campaign.objects.filter(pk=camp.pk).update(status="approved")
    response = manager_client.post(f"{URL}{camp.pk}/generate/", {}, format="json")
    assert response.status_code == 400 and "approved" in response.json()["detail"]
    assert not Job.objects.exists()


def test_results_without_experiment_is_404(analyst_client: APIClient) -> None:
    camp = approvable()
    response = analyst_client.get(f"{URL}{camp.pk}/results/")
    assert response.status_code == 404 and "no experiment yet" in response.json()["detail"]


def test_variant_review_endpoints(manager_client: APIClient, analyst_client: APIClient) -> None:
    camp = campaign(status="in_review")
    a, b = variant(camp), variant(camp)
    base = f"{URL}{camp.pk}/variants/"
    listed = analyst_client.get(base)
    assert listed.status_code == 200 and [v["label"] for v in listed.json()] == ["A", "B"]
    assert manager_client.post(f"{base}{a.pk}/approve/").json()["status"] == "approved"
    no_reason = manager_client.post(f"{base}{b.pk}/reject/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    rejected = manager_client.post(f"{base}{b.pk}/reject/", {"reason": "too long"}, format="json")
    assert rejected.json()["rejection_reason"] == "too long"
    edit = manager_client.patch(f"{base}{a.pk}/", {"body": f"Mugs for tea. {UNSUBSCRIBE_LINE}"}, format="json")
    assert edit.status_code == 200, edit.content
    assert edit.json()["status"] == "in_review" and edit.json()["generated_body"]
    assert Variant.objects.get(pk=a.pk).edited_by is not None
