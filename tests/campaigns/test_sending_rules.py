"""Sending is deliberate: the send names its number of recipients and needs it confirmed (admin confirmation
page, API `confirm_recipients`, the same step and message), a test send goes to the manager's own address
only and counts nowhere, and each deliberate act leaves an audit entry."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEntry
from campaigns import actions
from campaigns.brand import current_brand
from campaigns.delivery import queue_messages, recipients_now
from campaigns.models import Arm, Assignment, Campaign, Message
from campaigns.plain_text import html_to_text
from jobs.models import Job
from tests.audit.builders import acts

from .admin_pages import messages, page
from .builders import approvable, experiment, proofed, subscriber, variant

pytestmark = pytest.mark.django_db
API = "/api/v1/campaigns/"


@pytest.fixture(autouse=True)
def _locmem_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def approved(subscribers: int = 3, *, test_sent: bool = True) -> Campaign:
    """An approved campaign reaching `subscribers`, its copy test-sent (unless `test_sent` is False)."""
    camp = approvable(status=Campaign.Status.APPROVED)  # one subscriber of its own
    for _ in range(subscribers - 1):
        subscriber()
    return proofed(camp) if test_sent else camp


def test_the_api_send_needs_the_number_of_recipients(manager_client: APIClient) -> None:
    camp = approved(3)
    for body in ({}, {"confirm_recipients": 2}):
        refused = manager_client.post(f"{API}{camp.pk}/send/", body, format="json")
        assert refused.status_code == 400 and refused.json()["recipients"] == 3
        assert "would reach 3 customers now" in refused.json()["detail"]
        assert "confirm_recipients=3" in refused.json()["detail"]
    camp.refresh_from_db()
    assert camp.status == "approved" and not Job.objects.exists() and not acts().exclude(action="test_send").exists()
    moved = manager_client.post(f"{API}{camp.pk}/transition/", {"to": "running"}, format="json")
    assert moved.status_code == 400 and moved.json()["recipients"] == 3  # the other way in, the same rule
    sent = manager_client.post(f"{API}{camp.pk}/send/", {"confirm_recipients": 3}, format="json")
    assert sent.status_code == 202, sent.content
    entry = AuditEntry.objects.get(action="send")
    assert (entry.actor_label, entry.target_id, entry.details) == ("manager", str(camp.pk), {"recipients": 3})
    assert sent.json()["params"] == {"campaign_id": camp.pk, "confirmation": entry.pk}
    assert AuditEntry.objects.filter(action="transition", details__to="running").exists()


def test_a_resend_counts_only_customers_not_reached_yet(manager: User) -> None:
    camp = approved(2)
    Campaign.objects.filter(pk=camp.pk).update(status="running")
    queue_messages(camp, experiment(camp))  # both assigned by the first send
    subscriber()  # a newcomer
    assert recipients_now(camp) == 1
    with pytest.raises(actions.RecipientsNotConfirmed, match="would reach 1 customer now"):
        actions.do_start_sending(camp, manager, confirm_recipients=3)


def test_the_admin_asks_send_to_n_customers_before_sending(manager_web: Client, run_on_commit: None) -> None:
    camp = approved(3)
    confirm = manager_web.post(page("transition", camp), {"to": "running"})
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "Send to 3 customers?" in text
    assert not mail.outbox and Campaign.objects.get(pk=camp.pk).status == "approved"
    stale = messages(manager_web.post(page("transition", camp), {"to": "running", "confirm_recipients": 2},
                                      follow=True))
    assert stale == [f"{camp}: you confirmed 2 recipients but the send would reach 3 customers now: check the "
                     f"audience and confirm confirm_recipients=3"]
    manager_web.post(page("transition", camp), {"to": "running", "confirm_recipients": 3}, follow=True)
    assert Campaign.objects.get(pk=camp.pk).status == "running"
    # the three are assigned; the holdout's share (by a stable hash of the ids, so it varies with the ids the
    # tests before this one used) get no mail
    assigned = Assignment.objects.filter(experiment__campaign=camp)
    assert assigned.count() == 3 and len(mail.outbox) == assigned.exclude(arm__variant=None).count() >= 1
    assert AuditEntry.objects.get(action="send").details["recipients"] == 3


def test_a_test_send_goes_to_the_manager_only_and_counts_nowhere(
    manager_client: APIClient, manager_web: Client, manager: User
) -> None:
    camp = approved(2, test_sent=False)
    variant(camp)  # B, in review: tested too, after the approved one
    response = manager_client.post(f"{API}{camp.pk}/test-send/")
    assert response.status_code == 200, response.content
    assert response.json() == {"to": "manager@example.com", "addresses": ["manager@example.com"],
                               "variants": ["A", "B"]}
    assert [m.to for m in mail.outbox] == [["manager@example.com"]] * 2
    first = mail.outbox[0]
    assert first.subject == "[TEST] Your next favourite mug" and first.extra_headers["X-Test-Send"] == "1"
    assert first.body.startswith("Hi Alex,")  # sample personalisation, nobody's real data
    assert first.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not Message.objects.exists() and not Job.objects.exists()
    assert Campaign.objects.get(pk=camp.pk).status == "approved"
    entry = AuditEntry.objects.get(action="test_send")
    assert entry.details == {"to": "manager@example.com", "variants": ["A", "B"]}
    # the admin's button does the same
    texts = messages(manager_web.post(page("test-send", camp), {}, follow=True))
    assert texts == [f"{camp}: test sent to manager@example.com (variants A, B)."]
    assert len(mail.outbox) == 4 and AuditEntry.objects.filter(action="test_send").count() == 2


def test_a_test_send_is_refused_without_an_address(
    manager_client: APIClient, manager_web: Client, manager: User, analyst_client: APIClient
) -> None:
    camp = approved(1, test_sent=False)
    User.objects.filter(pk=manager.pk).update(email="")
    response = manager_client.post(f"{API}{camp.pk}/test-send/")
    assert response.status_code == 400 and "your user has none" in response.json()["detail"]
    texts = messages(manager_web.post(page("test-send", camp), {}, follow=True))
    assert texts == [f"{camp}: {response.json()['detail']}"]
    assert analyst_client.post(f"{API}{camp.pk}/test-send/").status_code == 403
    assert not mail.outbox and not acts().exists()


def test_reviews_overrides_and_moves_are_audited(manager_client: APIClient) -> None:
    camp = approvable()
    b = variant(camp)
    c = variant(camp)
    manager_client.post(f"{API}{camp.pk}/variants/{b.pk}/approve/")
    manager_client.post(f"{API}{camp.pk}/variants/{c.pk}/reject/", {"reason": "Too generic"}, format="json")
    manager_client.post(f"{API}{camp.pk}/transition/", {"to": "approved", "note": "ok"}, format="json")
    entries = {e.action: e for e in acts().all()}
    assert entries["approve"].target_id == str(b.pk) and entries["approve"].actor_label == "manager"
    assert entries["reject"].details["reason"] == "Too generic"
    assert entries["transition"].details == {"from": "in_review", "to": "approved", "note": "ok"}
    Campaign.objects.filter(pk=camp.pk).update(status="running")
    exp = experiment(camp)
    arm = exp.arms.get(key="B")
    answer = manager_client.post(f"{API}{camp.pk}/winner/", {"arm": arm.pk, "note": "brand"}, format="json")
    assert answer.status_code == 200
    override = AuditEntry.objects.get(action="override")
    assert override.details == {"what": "winner", "arm": "B", "note": "brand"}


def test_a_send_starts_only_after_a_test_of_its_current_copy(
    manager_client: APIClient, manager_web: Client, run_on_commit: None
) -> None:
    camp = approved(1, test_sent=False)
    refused = manager_client.post(f"{API}{camp.pk}/send/", {"confirm_recipients": 1}, format="json")
    why = (f"send a test first: no test was sent yet; the email of variant A must be tested before the real send "
           f"(the admin's \"Send a test\" or POST /campaigns/{camp.pk}/test-send/)")
    assert refused.status_code == 400 and refused.json()["detail"] == why
    change_page = manager_web.get(page("change", camp)).content.decode()
    assert f'<div class="cmp-why">{html.escape(why)}</div>' in change_page  # the blocked button says why
    assert not mail.outbox and Campaign.objects.get(pk=camp.pk).status == "approved"
    # a test to a list of addresses, rendered as the real send renders it (the brand's template and Reply-To)
    brand = current_brand()
    brand.reply_to = "hello@shop.example"
    brand.save()
    sent = manager_client.post(f"{API}{camp.pk}/test-send/", {"to": ["qa@example.com", "Boss@Example.com"]},
                               format="json")
    assert sent.json() == {"to": "qa@example.com", "addresses": ["qa@example.com", "Boss@Example.com"],
                           "variants": ["A"]}
    proof = mail.outbox[0]
    assert isinstance(proof, mail.EmailMultiAlternatives)
    assert proof.to == ["qa@example.com", "Boss@Example.com"] and proof.reply_to == ["hello@shop.example"]
    proof_html = str(proof.alternatives[0][0])
    assert 'bgcolor="#1f5f8b"' in proof_html and 'class="ecm-unsubscribe"' in proof_html
    assert proof.body == html_to_text(proof_html)
    assert manager_client.post(f"{API}{camp.pk}/send/", {"confirm_recipients": 1}, format="json").status_code == 202


def test_a_change_after_the_test_asks_for_another(manager: User, manager_web: Client) -> None:
    camp = approved(1)
    actions.check_start_sending(camp, manager)  # tested: nothing blocks it
    brand = current_brand()
    brand.primary_colour = "#0b4f6c"
    brand.save()
    with pytest.raises(actions.UntestedSend, match=r"variant A changed .* since the last test"):
        actions.check_start_sending(camp, manager)
    messages(manager_web.post(page("test-send", camp), {"to": "qa@example.com, lead@example.com"}, follow=True))
    assert mail.outbox[-1].to == ["qa@example.com", "lead@example.com"]
    camp.refresh_from_db()
    actions.check_start_sending(camp, manager)
    Campaign.objects.filter(pk=camp.pk).update(offer="20% off with code AUTUMN20")
    camp.refresh_from_db()
    with pytest.raises(actions.UntestedSend, match="changed"):
        actions.check_start_sending(camp, manager)


def test_a_test_send_shows_the_arm_discount_and_a_new_discount_asks_for_another_test(
    manager: User, manager_web: Client
) -> None:
    camp = approved(1)
    exp = experiment(camp)
    actions.check_start_sending(camp, manager)  # arms without a discount change nothing the test showed
    Arm.objects.filter(experiment=exp).update(discount_percent=15)
    with pytest.raises(actions.UntestedSend, match="changed"):
        actions.check_start_sending(camp, manager)
    messages(manager_web.post(page("test-send", camp), {"to": "qa@example.com"}, follow=True))
    proof = mail.outbox[-1]
    assert isinstance(proof, EmailMultiAlternatives)
    proof_html = proof.alternatives[0][0]
    assert "15% off" in html_to_text(str(proof_html))  # the offer block the real send shows
    camp.refresh_from_db()
    actions.check_start_sending(camp, manager)


def test_test_addresses_are_checked_before_anything_is_sent(manager_client: APIClient, manager_web: Client) -> None:
    camp = approved(1, test_sent=False)
    bad = manager_client.post(f"{API}{camp.pk}/test-send/", {"to": ["qa@example.com", "not-an-address"]},
                              format="json")
    assert bad.status_code == 400
    assert bad.json()["detail"] == "test address 2 ('not-an-address') is not an email address"
    many = [f"qa{i}@example.com" for i in range(11)]
    too_many = manager_client.post(f"{API}{camp.pk}/test-send/", {"to": many}, format="json")
    assert "at most 10 addresses; 11 were given" in too_many.json()["detail"]
    texts = messages(manager_web.post(page("test-send", camp), {"to": "qa@example.com; nope"}, follow=True))
    assert texts == [f"{camp}: test address 2 ('nope') is not an email address"]
    assert not mail.outbox and not AuditEntry.objects.filter(action="test_send").exists()
    assert Campaign.objects.get(pk=camp.pk).tested_at is None
