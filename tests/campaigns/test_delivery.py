"""Delivery: approval enforced, only started campaigns sent, consent respected, holdout silent, idempotent
under retry and crash, email through Django's outbox, SMS/push through a real local webhook server or the
JSONL export."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from campaigns import delivery
from campaigns.actions import do_start_sending, do_transition
from campaigns.delivery import DeliveryError, claim_batch, send_campaign
from campaigns.models import Assignment, Campaign, Message
from customers.models import Event, EventType
from jobs.models import Job
from jobs.runner import start_job
from tests.customers.builders import event

from .builders import UNSUBSCRIBE_LINE, campaign, experiment, proofed, subscriber, variant

pytestmark = pytest.mark.django_db


def approved_campaign(n_customers: int = 4, holdout: float = 0.0, **fields: Any) -> Campaign:
    camp = campaign(status="approved", landing_url="https://shop.example.com/autumn", **fields)
    variant(camp, status="approved", body=f"Stoneware mugs that keep tea warm. {UNSUBSCRIBE_LINE}")
    for _ in range(n_customers):
        subscriber(name="Ada Lovelace", attributes={"phone": "+447700900003"})
    experiment(camp, holdout=holdout)
    return camp


def running_campaign(n_customers: int = 4, holdout: float = 0.0, **fields: Any) -> Campaign:
    """An approved campaign that was started (as the start-sending step leaves it, before its job runs)."""
    camp = approved_campaign(n_customers, holdout, **fields)
    do_transition(camp, "running", None)
    return camp


def test_nothing_is_sent_without_approval() -> None:
    for status in ("draft", "generating", "in_review", "finished"):
        camp = approved_campaign(1)
        Campaign.objects.filter(pk=camp.pk).update(status=status)
        camp.refresh_from_db()
        with pytest.raises(DeliveryError, match=f"only approved or running campaigns are sent; this one is {status}"):
            send_campaign(camp)
    camp = approved_campaign(1)
    camp.variants.update(status="rejected")  # approval withdrawn behind the status' back
    with pytest.raises(DeliveryError, match="no variant is approved"):
        send_campaign(camp)
    camp = running_campaign(1)
    camp.variants.update(status="rejected")
    with pytest.raises(DeliveryError, match="no variant is approved"):
        send_campaign(camp)
    assert not Message.objects.exists() and not mail.outbox


def test_an_approved_campaign_is_sent_only_once_started() -> None:
    camp = approved_campaign(1)
    with pytest.raises(DeliveryError, match=f"approved but not started: .*POST /campaigns/{camp.pk}/send/"):
        send_campaign(camp)
    camp.refresh_from_db()
    assert camp.status == "approved" and not Message.objects.exists() and not mail.outbox


def test_starting_to_send_moves_to_running_and_the_send_fills_the_outbox(run_on_commit: None, manager: Any) -> None:
    camp = proofed(approved_campaign(3))
    job = do_start_sending(camp, manager, confirm_recipients=3)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    counts = job.result
    camp.refresh_from_db()
    assert camp.status == "running"
    assert counts == {
        "audience": 3, "holdout": 0, "messages_created": 3, "sent": 3, "skipped": 0, "failed": 0, "unconfirmed": 0
    }
    assert len(mail.outbox) == 3
    first = mail.outbox[0]
    message = Message.objects.get(recipient=first.to[0])
    assert first.subject == "Your next favourite mug"
    assert first.body.startswith("Hi Ada") and UNSUBSCRIBE_LINE in first.body
    assert first.extra_headers["X-Message-Id"] == str(message.pk)
    assert f"ecm_message={message.pk}" in first.body  # tracked link for click attribution
    html, mimetype = first.alternatives[0]  # type: ignore[attr-defined]
    assert mimetype == "text/html" and "<a href=" in html
    assert message.status == "sent" and message.provider_id == first.extra_headers["Message-ID"]
    assert message.body == first.body and message.sent_at is not None
    exposures = Event.objects.filter(type="exposure")
    assert exposures.count() == 3
    assert {e.attributes["message"] for e in exposures} == set(Message.objects.values_list("pk", flat=True))
    assert all(e.attributes["campaign"] == camp.pk for e in exposures)


def test_running_twice_sends_nothing_twice() -> None:
    camp = running_campaign(3)
    send_campaign(camp)
    again = send_campaign(camp)
    assert again["messages_created"] == 0 and again["sent"] == 0
    assert len(mail.outbox) == 3
    assert Event.objects.filter(type="exposure").count() == 3
    subscriber()  # a newcomer joins the audience: only they get the message on the next run
    third = send_campaign(camp)
    assert (third["messages_created"], third["sent"]) == (1, 1)
    assert len(mail.outbox) == 4
    assert len({m.to[0] for m in mail.outbox}) == 4


def test_a_crash_between_claim_and_send_never_sends_twice() -> None:
    camp = running_campaign(3)
    experiment_ = camp.experiment
    delivery.queue_messages(camp, experiment_)
    claimed, skipped, failed = claim_batch(camp, size=2)  # ... and the worker dies here
    assert (len(claimed), skipped, failed) == (2, 0, 0)
    assert not mail.outbox
    counts = send_campaign(camp)  # the job is retried
    assert counts["sent"] == 1 and counts["unconfirmed"] == 2
    assert len(mail.outbox) == 1
    crashed = {c.message.pk for c in claimed}
    assert set(Message.objects.filter(provider_id="").values_list("pk", flat=True)) == crashed
    assert Message.objects.filter(status="sent").count() == 3


def test_customers_who_lose_consent_after_assignment_are_skipped() -> None:
    camp = running_campaign(3)
    delivery.queue_messages(camp, camp.experiment)
    queued = list(Message.objects.filter(campaign=camp).order_by("pk"))
    queued[0].customer.marketing_consent = False
    queued[0].customer.save()
    event(queued[1].customer, EventType.UNSUBSCRIBE, occurred_at=timezone.now())
    counts = send_campaign(camp)
    assert (counts["sent"], counts["skipped"]) == (1, 2)
    assert [m.to[0] for m in mail.outbox] == [queued[2].customer.email]
    skipped = Message.objects.filter(status="skipped")
    assert set(skipped.values_list("pk", flat=True)) == {queued[0].pk, queued[1].pk}
    assert all("consent" in m.error for m in skipped)
    assert Event.objects.filter(type="exposure").count() == 1


def test_holdout_is_assigned_but_gets_nothing() -> None:
    camp = running_campaign(40, holdout=0.5)
    counts = send_campaign(camp)
    holdout = Assignment.objects.filter(experiment=camp.experiment, arm__key="holdout")
    assert counts["holdout"] == holdout.count() > 0
    assert Assignment.objects.filter(experiment=camp.experiment).count() == 40
    assert not Message.objects.filter(customer__in=holdout.values("customer")).exists()
    assert counts["sent"] == len(mail.outbox) == 40 - holdout.count()


def test_an_approved_campaign_without_experiment_gets_one(manager: Any) -> None:
    camp = campaign(status="approved")
    variant(camp, status="approved", body=f"Mugs for tea. {UNSUBSCRIBE_LINE}")
    subscriber()
    proofed(camp)
    do_start_sending(camp, manager, confirm_recipients=1)  # creates the experiment; its job (not run here) sends
    counts = send_campaign(camp)
    assert camp.experiment.arms.filter(variant__isnull=False).count() == 1
    assert counts["audience"] == 1


def test_an_unreachable_mail_server_fails_the_messages_and_they_can_be_requeued(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    camp = running_campaign(2)
    counts = send_campaign(camp)
    assert (counts["sent"], counts["failed"], counts["unconfirmed"]) == (0, 2, 0)
    assert all("email connection" in m.error and m.sent_at is None for m in Message.objects.all())
    assert not Event.objects.filter(type="exposure").exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is fixed
    assert send_campaign(camp)["sent"] == 0  # failed messages wait for a decision
    assert delivery.requeue_failed(camp) == 2
    assert send_campaign(camp)["sent"] == 2 and len(mail.outbox) == 2


class _Provider(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        type(self).received.append({"payload": payload, "auth": self.headers.get("Authorization")})
        body = json.dumps({"ids": {str(m["message"]): f"prov-{m['message']}" for m in payload["messages"]}})
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[tuple[str, type[_Provider]]]:
    handler = type("Provider", (_Provider,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/messages", handler
    server.shutdown()
    server.server_close()


def test_sms_goes_to_the_webhook(settings: Any, provider: tuple[str, type[_Provider]]) -> None:
    url, handler = provider
    settings.CAMPAIGN_WEBHOOK_URL, settings.CAMPAIGN_WEBHOOK_TOKEN = url, "secret"
    camp = running_campaign(3, channel="sms", required_text="Reply STOP to opt out")
    camp.variants.update(subject="", preheader="", body="Stoneware mugs that keep tea warm.")
    counts = send_campaign(camp)
    assert counts["sent"] == 3 and not mail.outbox
    assert len(handler.received) == 1 and handler.received[0]["auth"] == "Bearer secret"
    sent = handler.received[0]["payload"]["messages"]
    assert {m["recipient"] for m in sent} == {"+447700900003"}
    assert all(len(m["body"]) <= 160 and m["body"].endswith("Reply STOP to opt out") for m in sent)
    for message in Message.objects.all():
        assert message.provider_id == f"prov-{message.pk}"
    assert Event.objects.filter(type="exposure").count() == 3


def test_webhook_errors_fail_the_batch(settings: Any, provider: tuple[str, type[_Provider]]) -> None:
    url, handler = provider
    handler.status = 503
    settings.CAMPAIGN_WEBHOOK_URL = url
    camp = running_campaign(2, channel="push", required_text="")
    camp.variants.update(subject="Mugs are back", preheader="", body="Stoneware that keeps tea warm.")
    counts = send_campaign(camp)
    assert (counts["sent"], counts["failed"]) == (0, 2)
    assert all("503" in m.error for m in Message.objects.all())
    assert not Event.objects.filter(type="exposure").exists()


def test_without_webhook_push_is_exported_as_jsonl(settings: Any, tmp_path: Path) -> None:
    settings.CAMPAIGN_WEBHOOK_URL, settings.CAMPAIGN_EXPORT_DIR = "", tmp_path
    camp = running_campaign(2, channel="push", required_text="")
    camp.variants.update(subject="Mugs are back", preheader="", body="Stoneware that keeps tea warm.")
    send_campaign(camp)
    send_campaign(camp)  # a retry appends nothing
    lines = (tmp_path / f"campaign-{camp.pk}-push.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 2 and {r["title"] for r in rows} == {"Mugs are back"}
    assert {r["message"] for r in rows} == set(Message.objects.values_list("pk", flat=True))


def test_send_campaign_job_reports_progress(run_on_commit: None, manager: Any) -> None:
    camp = running_campaign(3)
    job = Job.objects.get(pk=do_start_sending(camp, manager, confirm_recipients=3).pk)
    assert job.status == "succeeded", job.error
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.counts["sent"] == 3 and job.result["sent"] == 3
    assert len(mail.outbox) == 3


def test_a_send_job_started_without_the_step_sends_nothing(run_on_commit: None, manager: Any) -> None:
    """Starting to send is a manager's step (experiment, running); a job queued around it refuses."""
    camp = approved_campaign(2)
    job = Job.objects.get(pk=start_job("send_campaign", {"campaign_id": camp.pk}, user=manager).pk)
    assert job.status == "failed" and "queued around that step" in job.error
    camp.refresh_from_db()
    assert camp.status == "approved" and not Message.objects.exists() and not mail.outbox


def test_a_send_job_queued_around_the_step_sends_nothing_to_a_running_campaign(
    run_on_commit: None, manager: Any
) -> None:
    """The jobs API could queue a send to a running campaign's newcomers without the confirmed number: it
    refuses; a retry of the step's own job is the step's send and goes ahead."""
    camp = running_campaign(2)
    job = Job.objects.get(pk=start_job("send_campaign", {"campaign_id": camp.pk}, user=manager).pk)
    assert job.status == "failed" and "with confirm_recipients" in job.error
    assert not Message.objects.exists() and not mail.outbox
    stepped = Job.objects.get(pk=do_start_sending(camp, manager, confirm_recipients=2).pk)
    assert stepped.status == "succeeded" and len(mail.outbox) == 2
    replay = Job.objects.get(pk=start_job("send_campaign", stepped.params, user=manager).pk)  # an old confirmation
    assert replay.status == "failed" and "queued around that step" in replay.error
