"""A campaign sent at each customer's best hour: delivery schedules every message at the right local hour
within 24 hours, the beat-driven dispatcher sends only what is due, never twice (two dispatchers racing on
the real database), and nothing more once the campaign is finished; the option is audited and the campaign
page shows the schedule and the progress."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from campaigns import delivery, tasks
from campaigns.actions import do_transition
from campaigns.models import Campaign, Message
from customers.models import Customer, Event, EventType
from tests.customers.builders import event

from .builders import UNSUBSCRIBE_LINE, campaign, experiment, proofed, subscriber, variant

START = datetime(2026, 1, 15, 9, 10, tzinfo=UTC)  # 10:10 in Paris, 04:10 in New York


def best_hour_campaign(**fields: Any) -> Campaign:
    """A running best-hour email campaign with one approved variant and its experiment (its audience, every
    consenting customer, must exist: an empty audience cannot run)."""
    camp = campaign(
        **{"status": "approved", "send_timing": "best_hour", "landing_url": "https://shop.example.com/", **fields}
    )
    variant(camp, status="approved", body=f"Stoneware mugs that keep tea warm. {UNSUBSCRIBE_LINE}")
    experiment(camp)
    do_transition(camp, "running", None)
    return camp


def opens_at(person: Customer, hour_utc: int, days: int) -> None:
    for day in range(days):
        event(person, EventType.OPEN, occurred_at=datetime(2025, 12, 1 + day, hour_utc, 15, tzinfo=UTC))


def scheduled(camp: Campaign) -> dict[int, datetime | None]:
    return dict(Message.objects.filter(campaign=camp).values_list("customer_id", "scheduled_for"))


@pytest.mark.django_db
def test_each_message_is_scheduled_at_the_customers_local_best_hour_within_a_day() -> None:
    paris = subscriber(timezone="Europe/Paris")
    opens_at(paris, 19, 30)  # 20:15 in Paris every evening of December
    early = subscriber()  # no zone: hours in UTC; opens at 08:15 UTC, an hour already past at the start
    opens_at(early, 8, 10)
    newcomer = subscriber(timezone="America/New_York")  # no history: the shop's best hour, on her clock
    camp = best_hour_campaign()
    delivery.queue_messages(camp, camp.experiment, start=START, rng=np.random.default_rng(7))
    times = scheduled(camp)
    assert times[paris.pk] == datetime(2026, 1, 15, 19, 0, tzinfo=UTC)  # 20:00 in Paris
    assert times[early.pk] == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)  # tomorrow morning, 22h50 on
    # the shop curve's best hour is 20 (30 opens against 10): 20:00 in New York is 01:00 UTC
    assert times[newcomer.pk] == datetime(2026, 1, 16, 1, 0, tzinfo=UTC)
    assert all(START <= t < START + timedelta(hours=24) for t in times.values() if t is not None)
    assert Message.objects.filter(campaign=camp, status="queued").count() == 3


@pytest.mark.django_db
def test_a_campaign_sent_now_schedules_nothing_and_sends_everything() -> None:
    for _ in range(3):
        subscriber()
    camp = best_hour_campaign(send_timing="now")
    counts = delivery.send_campaign(camp)
    assert counts["sent"] == 3 and "scheduled" not in counts
    assert set(scheduled(camp).values()) == {None}


@pytest.mark.django_db
def test_the_dispatcher_sends_only_what_is_due_and_each_once() -> None:
    paris = subscriber(timezone="Europe/Paris", email="paris@example.com")
    opens_at(paris, 19, 30)
    now_hour = subscriber(email="now@example.com")  # opens at 09:xx UTC: the start's own hour, sent at once
    opens_at(now_hour, 9, 30)
    camp = best_hour_campaign()
    delivery.queue_messages(camp, camp.experiment, start=START, rng=np.random.default_rng(1))
    first = delivery.dispatch_due(now=START)
    assert (first["sent"], [m.to for m in mail.outbox]) == (1, [["now@example.com"]])
    assert delivery.dispatch_due(now=datetime(2026, 1, 15, 18, 59, tzinfo=UTC))["sent"] == 0
    assert delivery.dispatch_due(now=datetime(2026, 1, 15, 19, 0, tzinfo=UTC))["sent"] == 1
    assert delivery.dispatch_due(now=datetime(2026, 1, 16, 12, 0, tzinfo=UTC))["sent"] == 0
    assert [m.to for m in mail.outbox] == [["now@example.com"], ["paris@example.com"]]
    assert Event.objects.filter(type=EventType.EXPOSURE).count() == 2
    progress = delivery.sending_progress(camp)
    assert (progress["sent"], progress["queued"], progress["done"]) == (2, 0, True)
    assert [(h["hour"].hour, h["scheduled"], h["sent"]) for h in progress["hours"]] == [(9, 1, 1), (19, 1, 1)]


@pytest.mark.django_db
def test_finishing_the_campaign_stops_the_dispatcher() -> None:
    for hour in (9, 12, 19):
        opens_at(subscriber(), hour, 30)
    camp = best_hour_campaign()
    delivery.queue_messages(camp, camp.experiment, start=START, rng=np.random.default_rng(2))
    assert delivery.dispatch_due(now=START)["sent"] == 1
    do_transition(camp, "finished", None, "stopped by the manager")
    later = START + timedelta(hours=23)
    assert delivery.dispatch_due(now=later) == {"campaigns": 0, "sent": 0, "skipped": 0, "failed": 0}
    claimed, skipped, failed = delivery.claim_batch(camp, now=later)  # even asked directly, the claim refuses
    assert (claimed, skipped, failed) == ([], 0, 0)
    assert len(mail.outbox) == 1
    progress = delivery.sending_progress(camp)
    assert (progress["sent"], progress["queued"], progress["done"]) == (1, 2, False)


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_never_send_a_message_twice() -> None:
    people = [subscriber(email=f"racer{i}@example.com") for i in range(40)]
    for i, person in enumerate(people):
        opens_at(person, i % 24, 3)
    camp = best_hour_campaign()
    delivery.queue_messages(camp, camp.experiment, start=START, rng=np.random.default_rng(3))
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            barrier.wait()
            results.append(delivery.dispatch_due(now=START + timedelta(days=1), batch_size=3))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(r["sent"] for r in results) == 40
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == 40 and len(set(recipients)) == 40
    assert Message.objects.filter(campaign=camp, status="sent").count() == 40
    assert Event.objects.filter(type=EventType.EXPOSURE).count() == 40


@pytest.mark.django_db
def test_the_beat_runs_the_dispatcher_every_minute() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-due-messages"]
    assert (entry["task"], entry["schedule"]) == ("campaigns.dispatch_due_messages", 60)
    assert tasks.dispatch_due_messages_task.apply().get() == {"campaigns": 0, "sent": 0, "skipped": 0, "failed": 0}


@pytest.mark.django_db
def test_send_timing_is_set_through_the_api_and_audited(manager_client: Any, manager: Any) -> None:
    camp = campaign()
    url = f"/api/v1/campaigns/{camp.pk}/"
    response = manager_client.patch(url, {"send_timing": "at_midnight"}, format="json")
    assert response.status_code == 400 and "send_timing" in response.json()
    response = manager_client.patch(url, {"send_timing": "best_hour"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["send_timing"] == "best_hour"
    entry = AuditEntry.objects.get(action=AuditAction.OTHER, target_id=str(camp.pk))
    assert entry.details == {"what": "send_timing", "from": "now", "to": "best_hour"}
    assert entry.actor == manager
    manager_client.patch(url, {"name": "Renamed"}, format="json")  # other edits leave no such entry
    assert AuditEntry.objects.filter(action=AuditAction.OTHER).count() == 1


@pytest.mark.django_db
def test_the_campaign_page_shows_the_schedule_and_the_progress(manager_web: Any) -> None:
    start = (timezone.now() + timedelta(days=2)).replace(minute=10, second=0, microsecond=0)  # ahead of the clock
    later = start.replace(minute=0) + timedelta(hours=10)
    for hour in (start.hour, later.hour):
        opens_at(subscriber(), hour, 30)
    camp = best_hour_campaign()
    delivery.queue_messages(camp, camp.experiment, start=start, rng=np.random.default_rng(4))
    delivery.dispatch_due(now=start)
    page = manager_web.get(reverse("admin:campaigns_campaign_change", args=[camp.pk])).content.decode()
    assert "<strong>1</strong> of 2 messages sent" in page
    assert "1 waiting for their hour, 0 due" in page
    assert "<svg" in page and f"{later:%m-%d %H}:00 UTC: 1 scheduled, 0 sent" in page
    assert f"{start:%m-%d %H}:00 UTC: 1 scheduled, 1 sent" in page


@pytest.mark.django_db
def test_send_timing_changed_in_the_admin_is_audited(manager_web: Any, manager: Any) -> None:
    camp = campaign(name="Winter socks")
    data = {
        "name": "Winter socks", "goal": "conversion", "channel": "email", "brief": camp.brief, "language": "en",
        "audience_filters": "{}", "required_text": UNSUBSCRIBE_LINE, "attribution_days": "7",
        "variants_per_group": "3", "greeting": "Hi {first_name},", "send_timing": "best_hour",
    }
    response = manager_web.post(reverse("admin:campaigns_campaign_change", args=[camp.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    camp.refresh_from_db()
    assert camp.send_timing == "best_hour"
    entry = AuditEntry.objects.get(action=AuditAction.OTHER, target_id=str(camp.pk))
    assert (entry.details, entry.actor) == ({"what": "send_timing", "from": "now", "to": "best_hour"}, manager)


@pytest.mark.django_db
def test_the_send_job_sends_what_is_due_now_and_leaves_the_rest_to_the_dispatcher() -> None:
    for hour in (3, 11, 19):
        opens_at(subscriber(), hour, 30)
    camp = best_hour_campaign()
    counts = delivery.send_campaign(camp)
    assert counts["messages_created"] == 3 and counts["sent"] + counts["scheduled"] == 3
    assert len(mail.outbox) == counts["sent"]
    assert delivery.dispatch_due(now=timezone.now() + timedelta(days=1))["sent"] == counts["scheduled"]
    assert delivery.sending_progress(camp)["done"] and len(mail.outbox) == 3


@pytest.mark.django_db
def test_the_send_confirmation_says_when_messages_go_out(manager_web: Any) -> None:
    subscriber()
    camp = campaign(status="approved", send_timing="best_hour")
    variant(camp, status="approved", body=f"Stoneware mugs. {UNSUBSCRIBE_LINE}")
    proofed(camp)
    url = reverse("admin:campaigns_campaign_transition", args=[camp.pk])
    page = manager_web.post(url, {"to": "running"}).content.decode()
    assert "Send to 1 customer" in page and "best hour within the next" in page
    assert not Message.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_dispatches_through_the_broker_each_message_once(private_redis: str, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.core.test_services import ROOT, broker_at, database_url

    people = [subscriber(email=f"worker{i}@example.com") for i in range(12)]
    for i, person in enumerate(people):
        opens_at(person, (i * 2) % 24, 3)
    camp = best_hour_campaign()
    delivery.queue_messages(camp, camp.experiment, start=timezone.now() - timedelta(days=1))  # all due now
    env = {
        **os.environ, "DATABASE_URL": database_url(), "REDIS_URL": private_redis, "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "file", "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", "default", "--pool", "prefork",
         "--concurrency", "2", "-n", f"dispatch-{os.getpid()}@%h"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        with broker_at(private_redis):
            for _ in range(3):  # three beats' worth of dispatchers, two at a time
                tasks.dispatch_due_messages_task.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Message.objects.filter(campaign=camp, provider_id="").exists():
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=20)
    assert Message.objects.filter(campaign=camp, status="sent").exclude(provider_id="").count() == 12
    written = "".join(path.read_text() for path in (tmp_path / "mail").iterdir())
    assert sorted(line for line in written.splitlines() if line.startswith("To: ")) == sorted(
        f"To: worker{i}@example.com" for i in range(12)
    )
