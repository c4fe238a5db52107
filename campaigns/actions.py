"""Every step of a campaign, one way through: the admin, the API and the jobs call these and nothing else.

`check_<step>(..., actor)` validates and authorises without changing anything; it raises one of
`REFUSALS` (a ValueError whose message says why, in words a manager can act on) or
`django.core.exceptions.PermissionDenied`. The admin also calls the checks to explain a blocked button.
`do_<step>(..., actor)` locks the campaign's row (`select_for_update`), re-checks on the locked row,
changes it, records each status move (`CampaignTransition`: from, to, who, when, why) and queues the job
the step needs, all in one transaction: when the job cannot be queued nothing moves. `actor` is a person
(`request.user`) or None for the system (a job). The rules themselves are in `campaigns.workflow`.

Steps:
- `do_generate(campaign, actor, force=False)`: draft or in review -> generating (from in review through
  draft) and queue `generate_campaign` (params `{"campaign_id"}`, plus `"force": True` when every
  unapproved variant is to be written again). The job ends the step: `do_end_generation` moves the
  campaign to in review (draft when nothing was written or generation failed).
- `do_start_sending(campaign, actor, confirm_recipients=N)`: approved -> running: the experiment is created
  (or its arms ensured: approved variants plus the holdout), the move recorded and `send_campaign` queued. A
  running campaign only queues another send (newcomers to the audience, requeued failures). Sending is a
  deliberate act: `N` must equal `delivery.recipients_now` (the admin's confirmation page shows the number,
  the API's `send/` takes it in the body); otherwise `RecipientsNotConfirmed` names the number.
- `do_test_send(campaign, actor, to=None)`: the variants emailed to the acting manager's own address (or to
  the addresses `to`, at most 10), marked as a test (`campaigns.proofs`), and the fingerprints of what was
  shown kept on the campaign; refused when the user has no email address and none is given. An approved
  campaign starts sending only after a test of its current approved copy (`UntestedSend`).
- `do_transition(campaign, to, actor, note)`: a plain move of the machine (submit for review, approve
  the campaign, reopen review, back to draft, finish; finishing before running is a cancel, with a note).
- `do_move(campaign, to, actor, note)`: what a workflow button in the admin and `POST transition/` in the
  API do: -> generating is `do_generate`, approved -> running is `do_start_sending`, anything else
  `do_transition`. So a button and the API call with the same request end in the same state.
- variant review (while the campaign is draft or in review): `do_approve_variant`, `do_reject_variant`
  (a reason is required), `do_edit_variant` (the model's text stays in `generated_body`, the guardrails
  run again, the variant needs a new approval).
- `do_override_winner(experiment, arm_id, actor, note)`: a manager's choice of winner, which the winner
  rule never overwrites; no arm withdraws the override.

Each deliberate act leaves an audit entry (`audit.log.record`, in the step's transaction): every status move
(transition), variant approvals and rejections, sends (with the number of recipients), test sends and
winner overrides.
"""

from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from audit.log import record
from audit.models import AuditAction, AuditEntry
from core.actors import Actor, has_perm, stored_user
from jobs.models import Job
from jobs.runner import start_job

from . import generation
from .analysis import choose_winner
from .delivery import DeliveryError, check_can_send, recipients_now
from .experiments import ExperimentError, create_experiment
from .generation import GenerationRefused
from .models import Arm, Campaign, CampaignTransition, Experiment, Variant
from .proofs import proof_variants, send_proofs, untested_variants
from .workflow import (
    ReviewError,
    TransitionError,
    channel_problems,
    check_cancel_note,
    check_permission,
    check_reviewable,
    check_transition,
)

logger = logging.getLogger(__name__)

Status = Campaign.Status


class RecipientsNotConfirmed(DeliveryError):
    """A send without the confirmed number of recipients, or with a number the audience no longer has."""

    def __init__(self, recipients: int, confirmed: int | None) -> None:
        self.recipients = recipients
        now = f"the send would reach {recipients:,} customer{'s' if recipients != 1 else ''} now"
        if confirmed is None:
            why = f"sending needs the number of recipients confirmed: {now}; confirm_recipients={recipients}"
        else:
            why = (f"you confirmed {confirmed:,} recipients but {now}: check the audience and confirm "
                   f"confirm_recipients={recipients}")
        super().__init__(why)

class UntestedSend(DeliveryError):
    """A send started before a test send showed the email it would send (or after a change since)."""

    def __init__(self, campaign: Campaign, labels: list[str]) -> None:
        self.labels = labels
        which = f"variant{'s' if len(labels) != 1 else ''} {', '.join(labels)}"
        when = ("no test was sent yet" if campaign.tested_at is None
                else f"{which} changed (copy, offer, landing page, products or brand) since the last test")
        super().__init__(
            f"send a test first: {when}; the email of {which} must be tested before the real send "
            f"(the admin's \"Send a test\" or POST /campaigns/{campaign.pk}/test-send/)"
        )


GENERATE_JOB = "generate_campaign"
MAX_TEST_ADDRESSES = 10
SEND_JOB = "send_campaign"
CHANGE_EXPERIMENT_PERMISSION = "campaigns.change_experiment"
REGENERATE_NOTE = "regenerate unapproved copy"
# What a step raises when it refuses (besides PermissionDenied); each message says why.
REFUSALS: tuple[type[ValueError], ...] = (
    TransitionError, ReviewError, ExperimentError, GenerationRefused, DeliveryError,
)


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _sync(campaign: Campaign, locked: Campaign) -> None:
    """The caller's object shows what the locked row now holds."""
    campaign.status = locked.status
    campaign.status_changed_by_id = locked.status_changed_by_id
    campaign.status_changed_at = locked.status_changed_at


def audit(actor: Actor, action: AuditAction, target: Any, details: dict[str, Any]) -> None:
    """An audit entry for a step (inside the step's transaction: a step that rolls back leaves none)."""
    record(actor, action, target, details=details)


def _record_move(locked: Campaign, to: str, actor: Actor, note: str) -> CampaignTransition:
    """Check and make one move of the machine on a row locked by the caller; running stamps the experiment's
    start, finished its end."""
    check_transition(locked, to, actor)
    check_cancel_note(locked, to, note)
    now, user = timezone.now(), stored_user(actor)
    record = CampaignTransition.objects.create(
        campaign=locked, from_status=locked.status, to_status=to, user=user, note=note, at=now
    )
    Campaign.objects.filter(pk=locked.pk).update(
        status=to, status_changed_by=user, status_changed_at=now, updated_at=now
    )
    if to == Status.RUNNING:
        Experiment.objects.filter(campaign=locked, started_at__isnull=True).update(started_at=now)
    elif to == Status.FINISHED:
        Experiment.objects.filter(campaign=locked, finished_at__isnull=True).update(finished_at=now)
    locked.status, locked.status_changed_by, locked.status_changed_at = to, user, now
    audit(actor, AuditAction.TRANSITION, locked, details={"from": record.from_status, "to": to, "note": note})
    return record


AUDITED_SETTINGS = ("send_timing",)
"""Campaign fields whose change is a decision about the customers (when they are messaged): each change
leaves an audit entry, from the admin's form and from the API alike."""


def audit_settings(campaign: Campaign, before: dict[str, Any], actor: Actor, request: Any = None) -> None:
    """An audit entry per field of AUDITED_SETTINGS whose saved value differs from `before` (field -> value)."""
    for field in AUDITED_SETTINGS:
        old, new = before.get(field), getattr(campaign, field)
        if field in before and old != new:
            record(actor, AuditAction.OTHER, campaign, details={"what": field, "from": old, "to": new},
                   request=request)


# --- plain moves ------------------------------------------------------------------------------------------


def do_transition(campaign: Campaign, to: str, actor: Actor = None, note: str = "") -> CampaignTransition:
    """Move the campaign to `to`, re-checked on the locked row; records who, when and why."""
    with transaction.atomic():
        locked = _locked(campaign)
        record = _record_move(locked, to, actor, note)
    _sync(campaign, locked)
    return record


def check_move(campaign: Campaign, to: str, actor: Actor) -> None:
    """Raise unless the workflow button (or `POST transition/`) for `to` would succeed now."""
    if to == Status.GENERATING:
        check_generate(campaign, actor)
    elif to == Status.RUNNING and campaign.status == Status.APPROVED:
        check_start_sending(campaign, actor)
    else:
        check_transition(campaign, to, actor)


def do_move(
    campaign: Campaign, to: str, actor: Actor, note: str = "", *, confirm_recipients: int | None = None
) -> Job | None:
    """Make the step a move to `to` stands for; returns the job it queued (generating, running), if any.
    A move to running is a send: it needs `confirm_recipients` (see `do_start_sending`)."""
    if to == Status.GENERATING:
        return do_generate(campaign, actor, force=campaign.status == Status.IN_REVIEW, note=note)
    if to == Status.RUNNING and campaign.status == Status.APPROVED:
        return do_start_sending(campaign, actor, note=note, confirm_recipients=confirm_recipients)
    do_transition(campaign, to, actor, note)
    return None


# --- generation -------------------------------------------------------------------------------------------


def check_generate(campaign: Campaign, actor: Actor) -> None:
    """Copy is generated for draft and in-review campaigns (regenerating goes through draft), with sane settings."""
    check_permission(actor)
    if campaign.status == Status.GENERATING:
        raise TransitionError(
            "copy is already being generated: wait for the generation job, or move the campaign back to draft"
        )
    if campaign.status not in (Status.DRAFT, Status.IN_REVIEW):
        raise TransitionError(f"copy is generated for draft or in-review campaigns; this one is {campaign.status}")
    generation.check_can_generate(campaign)


def _begin_generation(locked: Campaign, actor: Actor, note: str, draft_note: str) -> None:
    if locked.status == Status.IN_REVIEW:  # in_review -> generating is no edge of its own: via draft
        _record_move(locked, Status.DRAFT, actor, draft_note)
    _record_move(locked, Status.GENERATING, actor, note)


def do_generate(campaign: Campaign, actor: Actor, *, force: bool = False, note: str = "") -> Job:
    """Move to generating and queue the `generate_campaign` job; `force` rewrites every unapproved variant
    (approved ones stay)."""
    with transaction.atomic():
        locked = _locked(campaign)
        check_generate(locked, actor)
        _begin_generation(locked, actor, note, note or REGENERATE_NOTE)
        params: dict[str, Any] = {"campaign_id": locked.pk}
        if force:
            params["force"] = True
        job = start_job(GENERATE_JOB, params, user=actor)
    _sync(campaign, locked)
    return job


def do_begin_generation_job(campaign: Campaign, job_id: int) -> None:
    """The generation job's first step: nothing when the campaign is generating (the usual case, `do_generate`
    moved it). A job started otherwise (the jobs API, a retry of a failed job, the demo) takes the generate
    step itself, as the system, under the same checks."""
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.status != Status.GENERATING:
            check_generate(locked, None)
            _begin_generation(locked, None, f"job {job_id}", f"regenerating (job {job_id})")
    _sync(campaign, locked)


def do_end_generation(campaign: Campaign, note: str, *, failed: bool = False) -> None:
    """The generation job's last step, as the system: generating -> in review when the campaign has variants,
    else (or when generation `failed`) back to draft, so the manager can fix the brief and retry. A campaign
    someone moved meanwhile (back to draft, cancelled) keeps their move."""
    with transaction.atomic():
        locked = _locked(campaign)
        if locked.status != Status.GENERATING:
            logger.info("campaign %s is %s, not generating: the job leaves it there", locked.pk, locked.status)
            return
        done = not failed and locked.variants.exists()
        _record_move(locked, Status.IN_REVIEW if done else Status.DRAFT, None, note[:2000])
    _sync(campaign, locked)


# --- sending ----------------------------------------------------------------------------------------------


def check_start_sending(campaign: Campaign, actor: Actor) -> None:
    """Approved (or running) campaigns that still pass the approval rules are sent, by campaign managers; an
    approved one starts only after a test send showed its current approved copy (`proofs.untested_variants`)."""
    check_permission(actor)
    check_can_send(campaign)
    if campaign.status == Status.APPROVED:
        untested = untested_variants(campaign)
        if untested:
            raise UntestedSend(campaign, untested)


def check_recipients_confirmed(campaign: Campaign, confirm_recipients: int | None) -> int:
    """The number of customers the send would reach now, when it is the number confirmed; else
    RecipientsNotConfirmed naming it."""
    recipients = recipients_now(campaign)
    if confirm_recipients is None or confirm_recipients != recipients:
        raise RecipientsNotConfirmed(recipients, confirm_recipients)
    return recipients


def do_start_sending(
    campaign: Campaign, actor: Actor, note: str = "", *, confirm_recipients: int | None = None
) -> Job:
    """Approved: create the experiment (arms = approved variants + holdout) or ensure its arms, move to running
    and queue the `send_campaign` job. Running: queue another send (only customers not reached yet get one).
    `confirm_recipients` must be the number `delivery.recipients_now` gives (checked on the locked row)."""
    with transaction.atomic():
        locked = _locked(campaign)
        check_start_sending(locked, actor)
        recipients = check_recipients_confirmed(locked, confirm_recipients)
        if locked.status == Status.APPROVED:
            create_experiment(locked)
            _record_move(locked, Status.RUNNING, actor, note)
        entry = record(actor, AuditAction.SEND, locked, details={"recipients": recipients})
        job = start_job(SEND_JOB, {"campaign_id": locked.pk, "confirmation": entry.pk}, user=actor)
    _sync(campaign, locked)
    return job


def check_send_job(campaign: Campaign, job_id: int, confirmation: int | None) -> None:
    """A send job runs only as the send step queued it: its `confirmation` is the step's audit entry for this
    campaign, held by no other job (a retry keeps the job). One queued around the step (`POST /jobs/`) would
    send without a confirmed number of recipients."""
    confirmed = confirmation is not None and AuditEntry.objects.filter(
        pk=confirmation, action=AuditAction.SEND, target_type=Campaign._meta.label_lower, target_id=str(campaign.pk),
    ).exists()
    reused = Job.objects.filter(kind=SEND_JOB, params__confirmation=confirmation).exclude(pk=job_id).exists()
    if not confirmed or reused:
        raise DeliveryError(
            f"a send starts with its number of recipients confirmed (the admin's \"Start (send)\" or POST "
            f"/campaigns/{campaign.pk}/send/ with confirm_recipients); job {job_id} was queued around that step"
        )


def test_addresses(raw: str | list[str] | None) -> list[str]:
    """The addresses a test goes to, from a list or text separated by commas, semicolons or new lines
    (empty: none given). Raises DeliveryError naming the address that is not one, or too many."""
    items = raw if isinstance(raw, list) else re.split(r"[,;\s]+", raw or "")
    addresses: list[str] = []
    for position, item in enumerate(items, start=1):
        address = str(item).strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise DeliveryError(f"test address {position} ({address!r}) is not an email address") from exc
        if address.lower() not in {a.lower() for a in addresses}:
            addresses.append(address)
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise DeliveryError(f"a test goes to at most {MAX_TEST_ADDRESSES} addresses; {len(addresses)} were given")
    return addresses


def check_test_send(campaign: Campaign, actor: Actor, to: str | list[str] | None = None) -> list[str]:
    """Campaign managers test a campaign with variants, at their own address or at the addresses `to`
    (at most MAX_TEST_ADDRESSES); returns the addresses."""
    check_permission(actor)
    addresses = test_addresses(to)
    if not addresses:
        user = stored_user(actor)
        own = (user.email if user is not None else "").strip()
        if not own:
            raise DeliveryError(
                "a test is sent to your own email address and your user has none: add it to your account first, "
                "or give the addresses to send it to"
            )
        addresses = [own]
    if not proof_variants(campaign):
        raise DeliveryError("the campaign has no variants to test yet: generate or write copy first")
    return addresses


class ProofSent(NamedTuple):
    addresses: list[str]
    variants: list[str]


def do_test_send(campaign: Campaign, actor: Actor, to: str | list[str] | None = None) -> ProofSent:
    """Email the variants to the acting manager (or to `to`), marked "[TEST]" (`campaigns.proofs`: no
    message, no exposure, nothing counted in the experiment), and remember what was tested, which lets the
    send start; returns the addresses and the variants' labels."""
    addresses = check_test_send(campaign, actor, to)
    with transaction.atomic():
        locked = _locked(campaign)
        labels, fingerprints = send_proofs(locked, addresses)
        locked.tested_at, locked.tested_copy = timezone.now(), fingerprints
        locked.save(update_fields=["tested_at", "tested_copy"])
        audit(actor, AuditAction.TEST_SEND, locked, details={"to": ", ".join(addresses), "variants": labels})
    campaign.tested_at, campaign.tested_copy = locked.tested_at, locked.tested_copy
    return ProofSent(addresses, labels)


# --- variant review ---------------------------------------------------------------------------------------


def _locked_variant(variant: Variant) -> Variant:
    """The variant's row locked, with its campaign's row locked first (the order every step takes)."""
    campaign = Campaign.objects.select_for_update().get(pk=variant.campaign_id)
    locked = Variant.objects.select_for_update().get(pk=variant.pk)
    locked.campaign = campaign
    return locked


def check_approve_variant(variant: Variant, actor: Actor) -> None:
    """In review or rejected variants that fit the channel are approved; flagged ones must be edited first."""
    check_reviewable(variant.campaign, actor)
    if variant.status == Variant.Status.FLAGGED:
        failed = [g.get("check", "?") for g in variant.guardrails if isinstance(g, dict) and not g.get("passed", True)]
        raise ReviewError(
            f"variant {variant.label} failed guardrails ({', '.join(failed) or 'see its results'}): edit it first"
        )
    if variant.status == Variant.Status.APPROVED:
        raise ReviewError(f"variant {variant.label} is already approved")
    problems = channel_problems(variant.campaign, variant)
    if problems:
        raise ReviewError("; ".join(problems))


def check_reject_variant(variant: Variant, actor: Actor, reason: str) -> None:
    check_reviewable(variant.campaign, actor)
    if not (reason or "").strip():
        raise ReviewError("a rejection needs a reason")
    if variant.status == Variant.Status.REJECTED:
        raise ReviewError(f"variant {variant.label} is already rejected")


def _review(variant: Variant, locked: Variant, actor: Actor, status: str, reason: str) -> Variant:
    locked.status, locked.rejection_reason = status, reason
    locked.reviewed_by, locked.reviewed_at = stored_user(actor), timezone.now()
    locked.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at"])
    variant.refresh_from_db()
    return variant


def do_approve_variant(variant: Variant, actor: Actor) -> Variant:
    """Approve a variant in review (or one rejected earlier); only approved variants become experiment arms."""
    with transaction.atomic():
        locked = _locked_variant(variant)
        check_approve_variant(locked, actor)
        audit(actor, AuditAction.APPROVE, locked, details={"campaign": locked.campaign_id, "label": locked.label})
        return _review(variant, locked, actor, Variant.Status.APPROVED, "")


def do_reject_variant(variant: Variant, actor: Actor, reason: str) -> Variant:
    """Reject a variant; the reason is kept so generation and reviewers can learn from it."""
    with transaction.atomic():
        locked = _locked_variant(variant)
        check_reject_variant(locked, actor, reason)
        audit(actor, AuditAction.REJECT, locked,
              details={"campaign": locked.campaign_id, "label": locked.label, "reason": reason.strip()})
        return _review(variant, locked, actor, Variant.Status.REJECTED, reason.strip())


def check_edit_variant(variant: Variant, actor: Actor, changes: dict[str, str]) -> None:
    """Something to change, a body that is not empty, and every field within its column's size."""
    check_reviewable(variant.campaign, actor)
    if not changes:
        raise ReviewError("nothing to change: give a subject, preheader or body")
    if "body" in changes and not changes["body"].strip():
        raise ReviewError("the body must not be empty")
    for field, value in changes.items():
        max_length = getattr(Variant._meta.get_field(field), "max_length", None)
        if max_length and len(value) > max_length:
            raise ReviewError(f"{field} has {len(value)} characters; at most {max_length} fit")


def do_edit_variant(
    variant: Variant,
    actor: Actor,
    *,
    subject: str | None = None,
    preheader: str | None = None,
    body: str | None = None,
) -> Variant:
    """Change the copy by hand. The model's text stays in `generated_body`; the guardrails run again exactly
    as generation runs them; the variant goes back to review (flagged when a guardrail fails), so an edit
    always needs a new approval."""
    changes = {k: v for k, v in {"subject": subject, "preheader": preheader, "body": body}.items() if v is not None}
    with transaction.atomic():
        locked = _locked_variant(variant)
        check_edit_variant(locked, actor, changes)
        if not locked.generated_body:
            locked.generated_body = locked.body
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.edited_by = stored_user(actor)
        # re-checked exactly as generation checks its own copy (same segment, product, customer and context)
        results = generation.check_variant(locked)
        locked.guardrails = results
        failed = any(not r.get("passed", False) for r in results)
        locked.status = Variant.Status.FLAGGED if failed else Variant.Status.IN_REVIEW
        locked.reviewed_by, locked.reviewed_at, locked.rejection_reason = None, None, ""
        locked.save()
    variant.refresh_from_db()
    return variant


# --- the experiment's winner ------------------------------------------------------------------------------


def check_override_winner(experiment: Experiment, arm_id: int | str | None, actor: Actor, note: str) -> Arm | None:
    """Campaign managers choose one of the experiment's arms, with a note saying why; no arm (None or "")
    withdraws an override. Returns the chosen arm."""
    if not has_perm(actor, CHANGE_EXPERIMENT_PERMISSION):
        raise PermissionDenied("only campaign managers may choose an experiment's winner")
    if arm_id is None or arm_id == "":
        return None
    wanted = int(arm_id) if str(arm_id).isdigit() else 0
    arms = list(Arm.objects.filter(experiment=experiment).order_by("key"))
    arm = next((a for a in arms if a.pk == wanted), None)
    if arm is None:
        other = Arm.objects.filter(pk=wanted).first()
        why = f"arm {other.key} belongs to another experiment" if other else f"there is no arm {arm_id!r}"
        keys = ", ".join(a.key for a in arms) or "it has none yet"
        raise ExperimentError(f"Choose one of the experiment's arms ({keys}): {why}.")
    if not note.strip():
        raise ExperimentError("An override needs a note saying why.")
    return arm


def do_override_winner(experiment: Experiment, arm_id: int | str | None, actor: Actor, note: str = "") -> Arm | None:
    """Record a manager's choice of winner (who and why); the winner rule never overwrites it. Withdrawing
    (no arm) hands the choice back to the rule, which decides again at once. Returns the chosen arm."""
    note = (note or "").strip()
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        arm = check_override_winner(locked, arm_id, actor, note)
        locked.winner = arm
        locked.winner_overridden_by = stored_user(actor) if arm is not None else None
        locked.winner_note = note
        locked.save(update_fields=["winner", "winner_overridden_by", "winner_note"])
        audit(actor, AuditAction.OVERRIDE, locked,
              details={"what": "winner", "arm": arm.key if arm is not None else None, "note": note})
        if arm is None:
            choose_winner(locked)
    experiment.refresh_from_db()
    return arm
