"""Export of everything stored about one customer: every section filled, nothing of anyone else, who may
export (a permission of its own: analysts may not), and the audit entry each export writes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from customers.models import CarriedProductWeight, CarriedSearchWeight, CarriedTotals
from privacy.export import SECTIONS, export_customer
from tests.privacy.builders import person, running_experiment

pytestmark = pytest.mark.django_db


def url(pk: int) -> str:
    return f"/api/v1/customers/{pk}/export/"


def test_every_section_holds_the_customer_and_nothing_of_another() -> None:
    camp, exp = running_experiment()
    ann, bob = person(camp, exp), person(camp, exp, arm_key="B")
    document = json.loads(json.dumps(export_customer(ann.customer), default=str))

    assert document["customer"]["email"] == ann.customer.email
    assert document["profile"]["lifecycle"] == "active"
    lifecycle = ann.customer.profile.lifecycle_segment
    assert lifecycle is not None and [s["key"] for s in document["segments"]] == [lifecycle.key]
    assert [p["target"] for p in document["predictions"]] == ["churn"]
    assert [u["uplift"] for u in document["uplift_scores"]] == [0.04]
    assert sorted(e["type"] for e in document["events"]) == ["click", "exposure", "open", "purchase", "search", "view"]
    assert [r["product_sku"] for r in document["reviews"]] == [ann.product.sku]
    assert document["recommendations"][0]["items"][0]["sku"] == ann.product.sku
    assert [(m["recipient"], m["arm_key"]) for m in document["messages"]] == [(ann.customer.email, "A")]
    assert [(a["campaign_name"], a["arm_key"]) for a in document["assignments"]] == [(camp.name, "A")]
    assert [v["body"] for v in document["personal_variants"]] == [f"Just for you, {ann.customer.name}."]
    assert [len(c["messages"]) for c in document["conversations"]] == [2]
    assert [g["prompt"] for g in document["generated_texts"]] == [f"Write to {ann.customer.email.lower()}"]
    assert all(document[name] for name in SECTIONS), [name for name in SECTIONS if not document[name]]
    assert document["carried_over"] == {"totals": None, "product_weights": [], "searches": []}

    text = json.dumps(document)
    for leak in (bob.customer.email, bob.customer.name, bob.customer.external_id, bob.product.sku, "order-" + str(
        bob.customer.external_id.split("-")[1]
    )):
        assert leak not in text, leak


def test_manager_downloads_the_export_and_it_is_audited(manager_client: APIClient) -> None:
    ann = person()
    response = manager_client.get(url(ann.customer.pk))
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"] == f'attachment; filename="customer-{ann.customer.pk}.json"'
    assert response.json()["customer"]["external_id"] == ann.customer.external_id
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.actor_label, entry.target_id, entry.target_label) == (
        "manager", str(ann.customer.pk), f"customer {ann.customer.pk}"
    )
    assert entry.details["sections"]["events"] == 6
    assert ann.customer.email not in json.dumps(entry.details)


@pytest.mark.parametrize(
    ("who", "status"), [("anon_client", 401), ("nobody_client", 403), ("analyst_client", 403)]
)
def test_only_who_may_export_reads_it(who: str, status: int, request: pytest.FixtureRequest) -> None:
    ann = person()
    response = request.getfixturevalue(who).get(url(ann.customer.pk))
    assert response.status_code == status
    assert ann.customer.email not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_admin_button_downloads_the_json(manager_web: Client, analyst_web: Client) -> None:
    ann = person()
    page = manager_web.get(f"/admin/customers/customer/{ann.customer.pk}/change/")
    assert page.status_code == 200
    export_url = f"/admin/customers/customer/{ann.customer.pk}/export/"
    assert export_url in page.content.decode()

    response = manager_web.get(export_url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body: dict[str, Any] = json.loads(response.content)
    assert body["customer"]["email"] == ann.customer.email
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, target_id=str(ann.customer.pk)).count() == 1

    assert analyst_web.get(export_url).status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_what_retention_carried_over_is_exported_too() -> None:
    ann = person()
    now = timezone.now()
    CarriedSearchWeight.objects.create(customer=ann.customer, query="gift for my wife", weight=0.5, as_of=now)
    CarriedProductWeight.objects.create(customer=ann.customer, product=ann.product, weight=0.8, as_of=now)
    CarriedTotals.objects.create(customer=ann.customer, orders=2, revenue=Decimal("40.00"))
    carried = export_customer(ann.customer)["carried_over"]
    assert [s["query"] for s in carried["searches"]] == ["gift for my wife"]
    assert [p["product_sku"] for p in carried["product_weights"]] == [ann.product.sku]
    assert (carried["totals"]["orders"], carried["totals"]["revenue"]) == (2, Decimal("40.00"))
