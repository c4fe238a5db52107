"""Erasure of a customer: what is deleted and what anonymised (the job's report), that a second run is harmless,
that experiment results do not move, that the mail logs lose the address, and the audit entry (by pseudonym)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from assistant.models import Conversation, ConversationMessage
from audit.log import record
from audit.models import AuditAction, AuditEntry
from campaigns.analysis import analyse
from campaigns.models import Assignment, Message, Variant
from catalog.models import GeneratedText, Review
from customers.models import (
    CarriedProductWeight,
    CarriedSearchWeight,
    CarriedTotals,
    Customer,
    CustomerPrediction,
    CustomerProfile,
    ErasedCustomer,
    Event,
)
from customers.profiles import customers_with_new_events, update_profiles
from jobs.models import Job
from privacy.erasure import erase_customer
from recommendations.models import RecommendationSet
from recommendations.precompute import audience_ids
from tests.privacy.builders import person, running_experiment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_dirs(settings: Any, tmp_path: Path) -> None:
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.CAMPAIGN_EXPORT_DIR = tmp_path / "exports"


def test_the_report_lists_what_was_deleted_and_anonymised() -> None:
    camp, exp = running_experiment()
    ann, bob = person(camp, exp), person(camp, exp, arm_key="B")
    email, name, external_id = ann.customer.email, ann.customer.name, ann.customer.external_id
    # what retention kept of older events: the weights are the person's, the order totals are accounts
    now = timezone.now()
    CarriedProductWeight.objects.create(customer=ann.customer, product=ann.product, weight=0.8, as_of=now)
    CarriedSearchWeight.objects.create(customer=ann.customer, query="gift for my wife", weight=0.5, as_of=now)
    CarriedTotals.objects.create(customer=ann.customer, orders=2, revenue=Decimal("40.00"))

    report = erase_customer(ann.customer.pk)

    assert report["deleted"] == {
        "catalog.generatedtext": 1,
        "customers.customerprofile": 1,
        "customers.customerprediction": 1,
        "campaigns.upliftscore": 1,
        "recommendations.recommendationset": 1,
        "campaigns.message": 1,
        "campaigns.variant": 1,
        "assistant.conversationmessage": 2,
        "assistant.conversation": 1,
        "customers.event": 2,  # the view and the search
        "customers.carriedproductweight": 1,
        "customers.carriedsearchweight": 1,
    }
    assert report["anonymised"] == {
        "catalog.review": 1, "campaigns.variant": 0, "customers.event": 2, "customers.customer": 1,
        "audit.auditentry": 0,
    }  # events: the open (user agent) and the purchase (address) lost attributes
    assert report["kept"] == {"campaigns.assignment": 1, "customers.event": 4, "customers.carriedtotals": 1}
    assert not CarriedSearchWeight.objects.filter(customer=ann.customer).exists()
    assert report["pseudonym"].startswith("erased-")

    erased = Customer.objects.get(pk=ann.customer.pk)
    assert (erased.external_id, erased.email, erased.name, erased.attributes, erased.marketing_consent) == (
        report["pseudonym"], "", "", {}, False
    )
    assert erased.erased_at is not None
    kept = {e.type: e for e in Event.objects.filter(customer=erased)}
    assert sorted(kept) == ["click", "exposure", "open", "purchase"]
    assert kept["purchase"].value == 12.5 and kept["purchase"].order_id and kept["purchase"].attributes == {}
    assert set(kept["open"].attributes) == {"campaign", "message", "arm"}
    written = Review.objects.get(product=ann.product)
    assert written.customer_id is None and written.rating == 5
    assert email not in written.text and name not in written.text and "[email]" in written.text
    assert not any(model.objects.filter(customer=erased).exists() for model in (
        CustomerProfile, CustomerPrediction, RecommendationSet, Message, Variant, Conversation
    ))
    # nothing of the other customer went
    assert Message.objects.filter(customer=bob.customer).count() == 1
    assert ConversationMessage.objects.filter(conversation__customer=bob.customer).count() == 2
    assert GeneratedText.objects.count() == 1 and Event.objects.filter(customer=bob.customer).count() == 6
    # the tombstone holds digests, never the values
    tombstone = ErasedCustomer.objects.get(customer=erased)
    stored = json.dumps(list(ErasedCustomer.objects.values()), default=str)
    assert tombstone.pseudonym == report["pseudonym"]
    assert email.lower() not in stored.lower() and external_id not in stored


def test_erasing_twice_is_harmless() -> None:
    ann = person()
    first = erase_customer(ann.customer.pk)
    second = erase_customer(ann.customer.pk)
    assert second["pseudonym"] == first["pseudonym"]
    assert not any(second["deleted"].values()) and not any(second["anonymised"].values())
    assert second["kept"] == first["kept"]
    assert ErasedCustomer.objects.count() == 1
    assert Customer.objects.get(pk=ann.customer.pk).external_id == first["pseudonym"]


def test_experiment_results_are_identical_before_and_after() -> None:
    camp, exp = running_experiment()
    people = [person(camp, exp, arm_key=key) for key in ("A", "A", "B", "holdout")]
    before = analyse(exp)
    for someone in people[:3]:
        erase_customer(someone.customer.pk)
    after = analyse(exp)
    assert after["outcomes"] == before["outcomes"]
    assert after["metrics"] == before["metrics"]
    assert before["outcomes"]["A"]["assigned"] == 2 and before["outcomes"]["A"]["converted"] == 2
    assert Assignment.objects.filter(experiment=exp).count() == 4


def test_an_erased_customer_gets_no_profile_again() -> None:
    ann = person()
    erase_customer(ann.customer.pk)
    assert ann.customer.pk not in customers_with_new_events()
    update_profiles([ann.customer.pk])
    assert not CustomerProfile.objects.filter(customer=ann.customer).exists()


def test_no_recommendations_are_precomputed_for_an_erased_customer() -> None:
    ann, bob = person(), person()
    erase_customer(ann.customer.pk)
    assert ann.customer.pk not in audience_ids() and bob.customer.pk in audience_ids()
    assert audience_ids([ann.customer.pk, bob.customer.pk]) == [bob.customer.pk]


def test_the_local_mail_logs_lose_the_address(settings: Any) -> None:
    ann = person()
    mail = Path(settings.EMAIL_FILE_PATH)
    mail.mkdir()
    log = mail / "20250601-120000-1.log"
    log.write_text(f"To: {ann.customer.email.lower()}\nSubject: mugs\n\nHi\n", encoding="utf-8")
    other = mail / "other.log"
    other.write_text("To: someone@example.com\n", encoding="utf-8")

    report = erase_customer(ann.customer.pk)

    assert log.read_text(encoding="utf-8") == "To: [erased]\nSubject: mugs\n\nHi\n"
    assert other.read_text(encoding="utf-8") == "To: someone@example.com\n"
    assert report["files"] == {"scrubbed": 1, "occurrences": 1, "too_big": 0}
    assert any("out of reach" in note for note in report["notes"])


def test_the_audit_entry_names_the_pseudonym_not_the_person(manager: Any) -> None:
    ann = person()
    earlier = record(manager, AuditAction.OTHER, ann.customer)  # labelled with the person's name
    assert earlier.target_label == ann.customer.name
    report = erase_customer(ann.customer.pk, actor=manager)
    assert report["anonymised"]["audit.auditentry"] == 1
    earlier.refresh_from_db()
    assert (earlier.action, earlier.target_label) == (AuditAction.OTHER, report["pseudonym"])
    entry = AuditEntry.objects.get(action=AuditAction.ERASE)
    assert (entry.actor_label, entry.target_id, entry.target_label) == (
        "manager", str(ann.customer.pk), report["pseudonym"]
    )
    written = json.dumps([entry.target_label, entry.details]).lower()
    for personal in (ann.customer.email.lower(), ann.customer.name.lower(), ann.customer.external_id):
        assert personal not in written


# --- the ways in: API erase, API DELETE, admin button -----------------------------------------------------


def test_delete_erases_through_a_job_and_leaves_experiment_results_alone(
    run_on_commit: None, manager_client: APIClient
) -> None:
    """DELETE used to cascade to the person's messages and assignments: their arm lost a customer."""
    camp, exp = running_experiment()
    ann = person(camp, exp)
    person(camp, exp, arm_key="B")
    before = analyse(exp)
    response = manager_client.delete(f"/api/v1/customers/{ann.customer.pk}/")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.params, job.status) == ("erase_customer", {"customer_id": ann.customer.pk}, "succeeded")
    assert job.result["deleted"]["campaigns.message"] == 1
    assert job.counts["deleted"] == sum(job.result["deleted"].values())
    assert Customer.objects.get(pk=ann.customer.pk).erased_at is not None
    assert Assignment.objects.filter(customer=ann.customer).count() == 1
    assert AuditEntry.objects.get(action=AuditAction.ERASE).actor_label == "manager"
    after = analyse(exp)
    assert (after["outcomes"], after["metrics"]) == (before["outcomes"], before["metrics"])


@pytest.mark.parametrize(("who", "status"), [("anon_client", 401), ("nobody_client", 403), ("analyst_client", 403)])
def test_only_who_may_erase_can(who: str, status: int, request: pytest.FixtureRequest, run_on_commit: None) -> None:
    ann = person()
    client = request.getfixturevalue(who)
    assert client.delete(f"/api/v1/customers/{ann.customer.pk}/").status_code == status
    assert client.post(f"/api/v1/customers/{ann.customer.pk}/erase/").status_code == status
    assert Customer.objects.get(pk=ann.customer.pk).erased_at is None and not Job.objects.exists()


def test_a_job_started_through_the_jobs_api_still_needs_the_erase_permission(
    run_on_commit: None, manager: Any
) -> None:
    ann = person()
    manager.groups.clear()
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["add_job", "view_job"]))
    client = APIClient()
    client.force_authenticate(manager)
    response = client.post(
        "/api/v1/jobs/", {"kind": "erase_customer", "params": {"customer_id": ann.customer.pk}}, format="json"
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "failed" and "customers.erase_customer" in job.error
    assert Customer.objects.get(pk=ann.customer.pk).erased_at is None


def test_admin_erase_asks_for_confirmation_then_starts_the_job(
    run_on_commit: None, manager_web: Client, analyst_web: Client
) -> None:
    ann = person()
    url = f"/admin/customers/customer/{ann.customer.pk}/erase/"
    assert analyst_web.get(url).status_code == 403
    page = manager_web.get(url)
    assert page.status_code == 200 and "Yes, erase this customer" in page.content.decode()
    assert Customer.objects.get(pk=ann.customer.pk).erased_at is None  # asking changes nothing

    response = manager_web.post(url)
    assert response.status_code == 302
    assert Customer.objects.get(pk=ann.customer.pk).erased_at is not None
    assert Job.objects.get().kind == "erase_customer"
    change = manager_web.get(f"/admin/customers/customer/{ann.customer.pk}/change/").content.decode()
    assert "Erased" in change and "Erase…" not in change
    # no plain delete in the admin: it would change past experiment results
    assert manager_web.get(f"/admin/customers/customer/{ann.customer.pk}/delete/").status_code == 403
