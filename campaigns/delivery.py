"""Sending a running campaign: assign the audience to arms, write one message per customer, send each once.

Starting to send is a step of `campaigns.actions` (`do_start_sending`: the experiment is created, the
campaign moves to running, the `send_campaign` job is queued); this module is the job's work.

`send_campaign(campaign, *, progress=NO_PROGRESS, batch_size=BATCH_SIZE) -> dict[str, int]`
1. `check_can_send(campaign)`: the campaign is approved or running and still passes the approval rules
   (nothing is sent without approval); its experiment must have an approved arm. Only a running campaign is
   sent: an approved one has not been started yet.
2. The audience (`campaigns.audience.audience_queryset`) is assigned to arms by
   `campaigns.experiments.assign(experiment, customer_ids)`; the `Assignment` rows are the truth read back.
   Holdout customers are assigned and get no message. A customer with an approved variant written for them
   (`personalise_per_customer`) gets it instead of their arm's variant; the message stays in their arm.
3. One `Message` per customer in a variant arm: `bulk_create(ignore_conflicts=True)` against the unique
   (campaign, customer) constraint, so re-running adds only newcomers.
4. Queued messages are claimed in batches: rows locked with `SKIP LOCKED` (two workers never take the same
   row), customers who lost consent since assignment marked skipped, the rest rendered
   (`campaigns.personalisation.render`, in the brand's template with the arm's discount) and marked sent in
   the same transaction, before anything leaves.
   A retried or duplicated job finds no queued rows for them and sends nothing twice. The price is
   at-most-once: a crash between the claim and the send leaves messages "sent" without a `provider_id`;
   they are counted as `unconfirmed`, never re-sent automatically.
5. Email goes through Django's email framework (`EmailMultiAlternatives`, one connection per batch;
   `provider_id` is the Message-ID; Reply-To the brand's), each with `List-Unsubscribe` and
   `List-Unsubscribe-Post` (one-click, RFC 8058) naming the customer's signed link, which the body carries too
   (`customers.unsubscribe`); SMS and push go to `CAMPAIGN_WEBHOOK_URL` as one JSON POST per batch,
   or without it to a JSONL file under `CAMPAIGN_EXPORT_DIR` for the provider to pick up.
6. Each message that left gets an EXPOSURE event (`external_id` "exposure-<message id>", attributes
   `{"campaign", "message", "arm", "variant"}`), idempotent like the messages.

Failed messages (provider refused or unreachable) stay failed; `requeue_failed(campaign)` queues them again
for the next run.

Send time (`Campaign.send_timing`): "now" sends everything in the job. "best_hour" gives each new message a
`scheduled_for` when it is queued: the next occurrence, within 24 hours of the send's start, of an hour drawn
by Thompson sampling from the customer's send-hour posterior on their own clock (`customers.send_time`;
without history, the shop curve's best hour). The job sends what is due at once; `dispatch_due()`, run every
minute by beat (`campaigns.dispatch_due_messages`), sends the rest as it falls due through the same claim,
so two dispatchers (or a dispatcher and a job) never send a message twice. No Celery ETA or countdown is
used: a task held by a worker past the broker's visibility timeout is delivered again. A claim holds the
campaign's row FOR SHARE and takes nothing unless the campaign is running: finishing (or cancelling) it waits
for claims under way and afterwards nothing more is sent; its waiting messages stay queued, shown as not sent.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress
from customers import send_time
from customers.models import Customer, Event, EventType
from customers.unsubscribe import list_unsubscribe_headers

from .audience import audience_queryset, consenting, reachable_q, recipient_of
from .brand import current_brand
from .experiments import assign
from .models import Assignment, Brand, Campaign, Experiment, Message, Variant
from .personalisation import RenderedMessage, render
from .workflow import approval_problems, experiment_problems

logger = logging.getLogger(__name__)

# Messages claimed, rendered and sent per transaction and connection: a few hundred rendered bodies in
# memory (a few KB each) and short row locks.
BATCH_SIZE = 200
ASSIGN_CHUNK = 5_000  # customer ids per assign() call and per message insert
SENDABLE = {Campaign.Status.APPROVED, Campaign.Status.RUNNING}
SKIP_REASON = "no marketing consent any more, unsubscribed or unreachable"
DISPATCH_SECONDS = 50  # a dispatcher stops claiming after this; the next minute's run takes over the rest


class DeliveryError(ValueError):
    """The campaign cannot be sent now; the message says why."""


@dataclass
class Claimed:
    message: Message
    rendered: RenderedMessage


def check_can_send(campaign: Campaign) -> None:
    """Raise DeliveryError unless the campaign may be sent now: approved or running, still passing the
    approval rules, and its experiment (if it has one yet) has an approved arm."""
    if campaign.status not in SENDABLE:
        raise DeliveryError(f"only approved or running campaigns are sent; this one is {campaign.status}")
    problems = approval_problems(campaign)
    if Experiment.objects.filter(campaign=campaign).exists() or campaign.status == Campaign.Status.RUNNING:
        problems += experiment_problems(campaign)
    if problems:
        raise DeliveryError("cannot send: " + "; ".join(problems))


def recipients_now(campaign: Campaign) -> int:
    """How many customers a send started now would reach: the audience not yet assigned to the experiment
    (all of it before the first send). The holdout's share of them is assigned and gets no message."""
    queryset = audience_queryset(campaign)
    experiment = Experiment.objects.filter(campaign=campaign).first()
    if experiment is not None:
        assigned = Assignment.objects.filter(experiment=experiment, customer_id=OuterRef("pk"))
        queryset = queryset.exclude(Exists(assigned))
    return queryset.count()


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def queue_messages(
    campaign: Campaign, experiment: Experiment, *, start: datetime | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, int]:
    """Assign the audience and write a queued message per customer in a variant arm (idempotent). With
    best-hour timing each new message is scheduled within 24 hours of `start` (now by default)."""
    ids = list(audience_queryset(campaign).values_list("pk", flat=True))
    counts = {"audience": len(ids), "holdout": 0, "messages_created": 0}
    best_hour = campaign.send_timing == Campaign.SendTiming.BEST_HOUR
    start = start or timezone.now()
    rng = rng or np.random.default_rng()
    prior = send_time.shop_prior(refresh=True) if best_hour and ids else None
    for chunk in _chunks(ids, ASSIGN_CHUNK):
        assign(experiment, chunk)
        assignments = Assignment.objects.filter(experiment=experiment, customer_id__in=chunk).select_related("arm")
        personal = dict(
            Variant.objects.filter(campaign=campaign, customer_id__in=chunk, status=Variant.Status.APPROVED)
            .order_by("customer_id", "label").values_list("customer_id", "pk")
        )
        rows = []
        for assignment in assignments:
            if assignment.arm.variant_id is None:
                counts["holdout"] += 1
                continue
            rows.append(Message(
                campaign=campaign, customer_id=assignment.customer_id,
                variant_id=personal.get(assignment.customer_id, assignment.arm.variant_id),
                arm=assignment.arm, channel=campaign.channel, status=Message.Status.QUEUED,
            ))
        if prior is not None and rows:
            times = send_time.send_times([row.customer_id for row in rows], start, rng, prior)
            for row in rows:
                row.scheduled_for = times[row.customer_id]
        before = Message.objects.filter(campaign=campaign).count()
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        counts["messages_created"] += Message.objects.filter(campaign=campaign).count() - before
    return counts


def _still_running(campaign: Campaign) -> bool:
    """Inside a claim's transaction: the campaign's row held FOR SHARE (claims run side by side; finishing the
    campaign, which locks it FOR UPDATE, waits for them) and whether it is running."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {Campaign._meta.db_table} WHERE id = %s FOR SHARE", [campaign.pk])
        row = cursor.fetchone()
    return row is not None and row[0] == Campaign.Status.RUNNING


def due_q(now: datetime) -> Q:
    """Queued messages that may leave at `now`: unscheduled, or scheduled for then or earlier."""
    return Q(status=Message.Status.QUEUED) & (Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now))


def claim_batch(
    campaign: Campaign, size: int = BATCH_SIZE, now: datetime | None = None, ids: tuple[int, int] | None = None
) -> tuple[list[Claimed], int, int]:
    """Take up to `size` queued messages that are due: skip those who lost consent, render and mark the rest
    sent. Nothing while the campaign is not running.

    Returns (claimed messages with their rendering, skipped count, failed-to-render count). Commits before
    returning, so the claim holds even if the caller dies before sending. `ids` (first, last) limits the claim
    to a range of message ids: a chunk of the send job.
    """
    in_range = Q() if ids is None else Q(pk__gte=ids[0], pk__lte=ids[1])
    with transaction.atomic():
        if not _still_running(campaign):
            return [], 0, 0
        batch = list(
            Message.objects.filter(due_q(now or timezone.now()), in_range, campaign=campaign)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "variant", "arm")
            .order_by("pk")[:size]
        )
        if not batch:
            return [], 0, 0
        allowed = set(
            consenting(Customer.objects.filter(pk__in=[m.customer_id for m in batch]))
            .filter(reachable_q(campaign.channel))
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        brand = current_brand()  # once a batch: every message of it in the same template
        claimed: list[Claimed] = []
        skipped = failed = 0
        for message in batch:
            if message.customer_id not in allowed:
                message.status, message.error = Message.Status.SKIPPED, SKIP_REASON
                skipped += 1
                continue
            assert message.variant is not None  # queued messages always carry their arm's variant
            message.variant.campaign = campaign
            try:
                rendered = render(message.variant, message.customer, message_id=message.pk, arm=message.arm,
                                  brand=brand)
            except Exception as exc:  # one customer's bad data must not stop the campaign
                logger.exception("rendering message %s failed", message.pk)
                message.status, message.error = Message.Status.FAILED, f"render failed: {exc}"
                failed += 1
                continue
            message.recipient = recipient_of(message.customer, campaign.channel)[:254]
            message.subject, message.body = rendered.subject[:200], rendered.body
            message.products = rendered.product_ids
            message.status, message.sent_at = Message.Status.SENT, now
            claimed.append(Claimed(message, rendered))
        Message.objects.bulk_update(
            batch, ["status", "error", "recipient", "subject", "body", "products", "sent_at"]
        )
    return claimed, skipped, failed


# --- Channels ---------------------------------------------------------------------------------------------


def _send_email(campaign: Campaign, claimed: list[Claimed]) -> None:
    """One connection for the batch; each message sent on its own so one bad address fails only itself."""
    connection = get_connection(fail_silently=False)
    replies = reply_to(current_brand())
    try:
        connection.open()
    except Exception as exc:  # nothing left: the batch is failed, not lost (see requeue_failed)
        for item in claimed:
            item.message.status, item.message.error = Message.Status.FAILED, f"email connection: {exc}"[:2000]
        return
    try:
        for item in claimed:
            message, rendered = item.message, item.rendered
            message_id = make_msgid(domain=mail_domain())
            email = EmailMultiAlternatives(
                subject=rendered.subject,
                body=rendered.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[message.recipient],
                reply_to=replies,
                headers={
                    "Message-ID": message_id,
                    "X-Campaign-Id": str(campaign.pk),
                    "X-Message-Id": str(message.pk),
                    **list_unsubscribe_headers(message.customer),
                },
                connection=connection,
            )
            if rendered.html:
                email.attach_alternative(rendered.html, "text/html")
            try:
                sent = connection.send_messages([email])
            except Exception as exc:
                message.status, message.error = Message.Status.FAILED, f"email: {exc}"[:2000]
                continue
            if sent:
                message.provider_id = message_id
            else:
                message.status, message.error = Message.Status.FAILED, "email backend accepted no message"
    finally:
        connection.close()


def reply_to(brand: Brand) -> list[str]:
    """The brand's Reply-To address, when it has one."""
    return [brand.reply_to] if brand.reply_to else []


def mail_domain() -> str:
    sender = str(settings.DEFAULT_FROM_EMAIL)
    return sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "localhost"


def _payload(campaign: Campaign, claimed: list[Claimed]) -> list[dict[str, Any]]:
    return [
        {
            "campaign": campaign.pk,
            "message": item.message.pk,
            "channel": campaign.channel,
            "customer": item.message.customer.external_id,
            "recipient": item.message.recipient,
            "title": item.rendered.subject,
            "body": item.rendered.body,
            "products": [p.sku for p in item.rendered.products],
        }
        for item in claimed
    ]


def _send_webhook(campaign: Campaign, claimed: list[Claimed], url: str) -> None:
    """POST the batch as JSON; a non-2xx answer or a network error fails the whole batch."""
    data = json.dumps({"campaign": campaign.pk, "channel": campaign.channel, "messages": _payload(campaign, claimed)})
    headers = {"Content-Type": "application/json"}
    if settings.CAMPAIGN_WEBHOOK_TOKEN:
        headers["Authorization"] = f"Bearer {settings.CAMPAIGN_WEBHOOK_TOKEN}"
    request = urllib.request.Request(url, data=data.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.CAMPAIGN_WEBHOOK_TIMEOUT) as response:
            status, raw = response.status, response.read()
    except (urllib.error.URLError, OSError) as exc:
        for item in claimed:
            item.message.status, item.message.error = Message.Status.FAILED, f"webhook: {exc}"[:2000]
        return
    ids: dict[str, Any] = {}
    try:
        answer = json.loads(raw or b"{}")
        if isinstance(answer, dict) and isinstance(answer.get("ids"), dict):
            ids = answer["ids"]
    except ValueError:
        pass
    for item in claimed:
        item.message.provider_id = str(ids.get(str(item.message.pk)) or f"webhook:{status}")[:200]


def _write_export(campaign: Campaign, claimed: list[Claimed]) -> None:
    """Append the batch to var/exports/campaign-<id>-<channel>.jsonl, synced to disk before it counts as sent."""
    folder = Path(settings.CAMPAIGN_EXPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"campaign-{campaign.pk}-{campaign.channel}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        for row in _payload(campaign, claimed):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    for item in claimed:
        item.message.provider_id = f"export:{path.name}"


def deliver(campaign: Campaign, claimed: list[Claimed]) -> dict[str, int]:
    """Send claimed messages on the campaign's channel, record the outcome and the exposures."""
    if not claimed:
        return {"sent": 0, "failed": 0}
    if campaign.channel == Campaign.Channel.EMAIL:
        _send_email(campaign, claimed)
    elif settings.CAMPAIGN_WEBHOOK_URL:
        _send_webhook(campaign, claimed, settings.CAMPAIGN_WEBHOOK_URL)
    else:
        _write_export(campaign, claimed)
    messages = [item.message for item in claimed]
    for message in messages:
        if message.status == Message.Status.FAILED:
            message.sent_at = None
    Message.objects.bulk_update(messages, ["status", "error", "provider_id", "sent_at"])
    sent = [m for m in messages if m.status == Message.Status.SENT]
    Event.objects.bulk_create(
        [
            Event(
                external_id=f"exposure-{m.pk}", customer_id=m.customer_id, type=EventType.EXPOSURE,
                occurred_at=m.sent_at or timezone.now(),
                attributes={
                    "campaign": campaign.pk, "message": m.pk, "arm": m.arm.key if m.arm else None,
                    "variant": m.variant_id,
                },
            )
            for m in sent
        ],
        ignore_conflicts=True,
    )
    return {"sent": len(sent), "failed": len(messages) - len(sent)}


def send_campaign(
    campaign: Campaign, *, progress: Progress = NO_PROGRESS, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Send the running campaign to everyone in its audience not reached yet (see the module docstring), in
    one process; the `send_campaign` job does the same in chunks: `prepare_send`, `send_messages` per range
    of message ids, `send_outcome`."""
    start = timezone.now()
    counts = prepare_send(campaign, start)
    progress.set_total(Message.objects.filter(due_q(start), campaign=campaign).count())
    counts.update(_send_due(campaign, start, batch_size, progress))
    counts.update(send_outcome(campaign, start))
    return counts


def prepare_send(campaign: Campaign, start: datetime) -> dict[str, int]:
    """Check the campaign may be sent now, assign its audience and queue its messages (idempotent)."""
    check_can_send(campaign)
    if campaign.status != Campaign.Status.RUNNING:
        raise DeliveryError(
            f"the campaign is approved but not started: starting to send (the admin's \"Start (send)\" or "
            f"POST /campaigns/{campaign.pk}/send/) creates its experiment, moves it to running and queues the send"
        )
    experiment = Experiment.objects.get(campaign=campaign)
    return queue_messages(campaign, experiment, start=start)


def due_message_ids(campaign: Campaign, start: datetime) -> list[int]:
    """Ids of the campaign's messages due at `start`, in order: what the send job splits into chunks."""
    return list(Message.objects.filter(due_q(start), campaign=campaign).order_by("pk").values_list("pk", flat=True))


def send_messages(
    campaign: Campaign, start: datetime, first: int, last: int, *, progress: Progress = NO_PROGRESS,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Send the due messages with ids in [first, last] (a chunk of the send job). Each message is claimed once
    (`claim_batch`), so a chunk delivered twice, or run beside the dispatcher, sends nothing twice."""
    check_can_send(campaign)
    progress.set_total(
        Message.objects.filter(due_q(start), campaign=campaign, pk__gte=first, pk__lte=last).count()
    )
    return _send_due(campaign, start, batch_size, progress, ids=(first, last))


def send_outcome(campaign: Campaign, start: datetime) -> dict[str, int]:
    """After the due messages went: how many wait for their hour (best-hour timing) and how many left
    without the provider's confirmation."""
    counts: dict[str, int] = {}
    if campaign.send_timing == Campaign.SendTiming.BEST_HOUR:  # left for the dispatcher
        counts["scheduled"] = Message.objects.filter(
            campaign=campaign, status=Message.Status.QUEUED, scheduled_for__gt=start
        ).count()
    counts["unconfirmed"] = Message.objects.filter(
        campaign=campaign, status=Message.Status.SENT, provider_id=""
    ).count()
    return counts


def _send_due(
    campaign: Campaign, now: datetime, batch_size: int, progress: Progress = NO_PROGRESS,
    deadline: float | None = None, ids: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Claim and deliver the campaign's messages due at `now`, batch by batch, until none is left (or the
    monotonic `deadline` passes); only those with ids in the range `ids` when given."""
    totals = {"sent": 0, "skipped": 0, "failed": 0}
    while deadline is None or time.monotonic() < deadline:
        claimed, skipped, render_failed = claim_batch(campaign, batch_size, now, ids)
        if not claimed and not skipped and not render_failed:
            break
        result = deliver(campaign, claimed)
        batch_counts = {"sent": result["sent"], "skipped": skipped, "failed": result["failed"] + render_failed}
        for key, value in batch_counts.items():
            totals[key] += value
        progress.advance(len(claimed) + skipped + render_failed, **batch_counts)
    return totals


def dispatch_due(
    now: datetime | None = None, *, batch_size: int = BATCH_SIZE, seconds: float = DISPATCH_SECONDS
) -> dict[str, int]:
    """Send the scheduled messages that are due, of every running campaign that still passes its approval
    rules (the beat task's work, every minute). Safe to run in several workers at once: each message is
    claimed once. Returns the counts of this run."""
    now = now or timezone.now()
    deadline = time.monotonic() + seconds
    totals = {"campaigns": 0, "sent": 0, "skipped": 0, "failed": 0}
    due = Message.objects.filter(due_q(now), campaign=OuterRef("pk"), scheduled_for__isnull=False)
    for campaign in Campaign.objects.filter(Exists(due), status=Campaign.Status.RUNNING).order_by("pk"):
        try:
            check_can_send(campaign)
        except DeliveryError as exc:
            logger.warning("campaign %s has messages due but is not sent: %s", campaign.pk, exc)
            continue
        totals["campaigns"] += 1
        for key, value in _send_due(campaign, now, batch_size, deadline=deadline).items():
            totals[key] += value
        if time.monotonic() >= deadline:
            break
    return totals


def sending_progress(campaign: Campaign) -> dict[str, Any]:
    """Where the campaign's sending stands: messages by status, how many queued ones wait for their hour,
    and per hour (UTC, truncated) how many were scheduled then and how many of those have left."""
    now = timezone.now()
    by_status = dict(
        Message.objects.filter(campaign=campaign).values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    waiting = Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED, scheduled_for__gt=now).count()
    hours = (
        Message.objects.filter(campaign=campaign, scheduled_for__isnull=False)
        .annotate(hour=TruncHour("scheduled_for", tzinfo=UTC))
        .values("hour")
        .annotate(
            scheduled=Count("pk"),
            sent=Count("pk", filter=Q(status=Message.Status.SENT)),
            queued=Count("pk", filter=Q(status=Message.Status.QUEUED)),
        )
        .order_by("hour")
    )
    total = sum(by_status.values())
    queued = by_status.get(Message.Status.QUEUED, 0)
    return {
        "total": total,
        "sent": by_status.get(Message.Status.SENT, 0),
        "skipped": by_status.get(Message.Status.SKIPPED, 0),
        "failed": by_status.get(Message.Status.FAILED, 0),
        "queued": queued,
        "waiting": waiting,
        "done": total > 0 and queued == 0,
        "hours": [dict(row) for row in hours],
    }


def requeue_failed(campaign: Campaign) -> int:
    """Queue failed messages again (a manager's decision after fixing the mail server or webhook); returns
    how many. Failed means the provider refused or was unreachable, so nothing reached the customer. A
    best-hour message keeps its (past) hour, so the dispatcher sends it within the minute."""
    return Message.objects.filter(campaign=campaign, status=Message.Status.FAILED).update(
        status=Message.Status.QUEUED, error="", sent_at=None
    )
