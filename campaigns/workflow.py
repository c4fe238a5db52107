"""The campaign status machine and the review of copy variants: who may do what, and when.

Statuses and their edges (`ALLOWED`):

    draft --> generating --> in_review --> approved --> running --> finished
      |  ^        |              |  ^         |
      |  '--------'  (failed)    |  '---------'  (reopen review before anything is sent)
      |                          v
      '--> in_review (hand-written variants)      in_review --> draft (regenerate)

    cancel: any status except finished --> finished, with a note saying why (`CANCEL_NEEDS_NOTE`).
    finished is terminal.

Rules checked by `check_transition(campaign, to, user)` (raises `TransitionError`, a ValueError, for a
forbidden edge or an unmet requirement, and `django.core.exceptions.PermissionDenied` for the user):
- the user needs `campaigns.change_campaign` (the "campaign manager" group); analysts only read.
  `user=None` means the system itself (a job such as generation moving generating -> in_review).
- -> in_review from draft: the campaign has at least one variant.
- -> approved: at least one approved variant, a complete brief (name, brief text, a valid audience that is
  not empty, for email a subject on every approved variant and `required_text` holding the unsubscribe
  line), and every approved variant fits the channel limits (`CHANNEL_LIMITS`).
- -> running: still approvable, plus an experiment whose arms include at least one approved variant.
- finished from anything but running: a cancel; needs a note.

`do_transition(campaign, to, user=None, note="")` re-checks under `select_for_update`, then records the
move (`CampaignTransition`, `status_changed_by/at`); running stamps `Experiment.started_at`, finished
`Experiment.finished_at`.

Variant review (a campaign manager, while the campaign is draft or in review):
- `do_approve_variant(variant, user)`: in review or rejected -> approved (a variant flagged by the
  guardrails must be edited until it passes first).
- `do_reject_variant(variant, user, reason)`: the reason is required.
- `do_edit_variant(variant, user, subject=None, preheader=None, body=None)`: keeps the model's text in
  `generated_body`, re-runs the guardrails on the new text exactly as generation does
  (`campaigns.guardrails.check_variant`); the
  variant goes back to review (or flagged when a guardrail fails), so an edit always needs a new approval.

Delivery re-checks approval (`campaigns.delivery.check_can_send`): nothing is sent without it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from .generation import check_variant
from .models import Campaign, CampaignTransition, Experiment, Variant
from .prompts import LIMITS

logger = logging.getLogger(__name__)

Status = Campaign.Status

ALLOWED: dict[str, set[str]] = {
    Status.DRAFT: {Status.GENERATING, Status.IN_REVIEW, Status.FINISHED},
    Status.GENERATING: {Status.IN_REVIEW, Status.DRAFT, Status.FINISHED},
    Status.IN_REVIEW: {Status.APPROVED, Status.DRAFT, Status.FINISHED},
    Status.APPROVED: {Status.RUNNING, Status.IN_REVIEW, Status.FINISHED},
    Status.RUNNING: {Status.FINISHED},
    Status.FINISHED: set(),
}
CANCEL_NEEDS_NOTE = True
CHANGE_PERMISSION = "campaigns.change_campaign"

# Channel limits in characters, shared with the prompts and guardrails (email subject 78, preheader 100,
# body 1200; SMS 160 in total; push title 50, body 178).
CHANNEL_LIMITS: dict[str, dict[str, int]] = LIMITS
REVIEWABLE_CAMPAIGN = {Status.DRAFT, Status.IN_REVIEW}


class TransitionError(ValueError):
    """A move the status machine or the campaign's state does not allow; the message says why."""


class ReviewError(ValueError):
    """A variant review action that is not possible now; the message says why."""


def check_permission(user: Any) -> None:
    """Campaign managers (model permission `campaigns.change_campaign`) may change campaigns; None is the system."""
    if user is None:
        return
    if not getattr(user, "is_authenticated", False) or not user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied("only campaign managers may change campaigns (analysts have read-only access)")


def channel_problems(campaign: Campaign, variant: Variant) -> list[str]:
    """What keeps this variant from being sent on the campaign's channel (empty when it fits)."""
    problems = []
    if not variant.body.strip():
        problems.append(f"variant {variant.label}: the body is empty")
    if campaign.channel == Campaign.Channel.EMAIL and not variant.subject.strip():
        problems.append(f"variant {variant.label}: an email needs a subject")
    if campaign.channel == Campaign.Channel.PUSH and not variant.subject.strip():
        problems.append(f"variant {variant.label}: a push notification needs a title (subject)")
    for field, limit in CHANNEL_LIMITS.get(campaign.channel, {}).items():
        length = len(getattr(variant, field))
        if length > limit:
            problems.append(
                f"variant {variant.label}: {field} has {length} characters, {campaign.channel} allows {limit}"
            )
    return problems


def brief_problems(campaign: Campaign) -> list[str]:
    """What is missing from the brief before the campaign can be approved (empty when complete)."""
    from .audience import AudienceError, audience_size

    problems = []
    if not campaign.name.strip():
        problems.append("the campaign has no name")
    if not campaign.brief.strip():
        problems.append("the brief is empty")
    if campaign.channel == Campaign.Channel.EMAIL and not campaign.required_text.strip():
        problems.append("an email campaign needs required text with the unsubscribe line")
    try:
        if audience_size(campaign) == 0:
            problems.append("the audience is empty (no consenting customer matches its segments and filters)")
    except AudienceError as exc:
        problems.append(f"the audience is invalid: {exc}")
    return problems


def approval_problems(campaign: Campaign) -> list[str]:
    approved = list(campaign.variants.filter(status=Variant.Status.APPROVED))
    problems = [] if approved else ["no variant is approved yet"]
    for variant in approved:
        problems.extend(channel_problems(campaign, variant))
    return problems + brief_problems(campaign)


def experiment_problems(campaign: Campaign) -> list[str]:
    experiment = Experiment.objects.filter(campaign=campaign).first()
    if experiment is None:
        return ["the campaign has no experiment: create it (and its arms) first"]
    if not experiment.arms.filter(variant__status=Variant.Status.APPROVED).exists():
        return ["the experiment has no arm with an approved variant"]
    return []


def check_transition(campaign: Campaign, to: str, user: Any) -> None:
    """Raise unless `user` may move `campaign` from its status to `to` now (see the module docstring)."""
    if to not in Status.values:
        raise TransitionError(f"unknown status {to!r}; statuses are {', '.join(Status.values)}")
    check_permission(user)
    current = campaign.status
    if to == current:
        raise TransitionError(f"the campaign is already {current}")
    if to not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current])) or "nothing (finished is final)"
        raise TransitionError(f"a campaign cannot go from {current} to {to}; from {current} it can go to {allowed}")
    problems: list[str] = []
    if to == Status.IN_REVIEW and current == Status.DRAFT and not campaign.variants.exists():
        problems.append("the campaign has no variants to review: generate or write some first")
    elif to == Status.APPROVED:
        problems = approval_problems(campaign)
    elif to == Status.RUNNING:
        problems = approval_problems(campaign) + experiment_problems(campaign)
    if problems:
        raise TransitionError(f"cannot move the campaign to {to}: " + "; ".join(problems))


def check_cancel_note(campaign: Campaign, to: str, note: str) -> None:
    if to == Status.FINISHED and campaign.status != Status.RUNNING and CANCEL_NEEDS_NOTE and not note.strip():
        raise TransitionError(f"cancelling a {campaign.status} campaign (finishing it before it ran) needs a note")


def do_transition(campaign: Campaign, to: str, user: Any = None, note: str = "") -> CampaignTransition:
    """Move the campaign to `to`, re-checked on the locked row; records who, when and why."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        check_transition(locked, to, user)
        check_cancel_note(locked, to, note)
        now = timezone.now()
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
    campaign.status, campaign.status_changed_by, campaign.status_changed_at = to, user, now
    return record


# --- Variant review ---------------------------------------------------------------------------------------


def _check_reviewable(variant: Variant, user: Any) -> Campaign:
    check_permission(user)
    campaign = variant.campaign
    if campaign.status not in REVIEWABLE_CAMPAIGN:
        raise ReviewError(
            f"variants can be reviewed or edited only while the campaign is draft or in review; it is {campaign.status}"
        )
    return campaign


def do_approve_variant(variant: Variant, user: Any) -> Variant:
    """Approve a variant in review (or one rejected earlier); flagged variants must be edited first."""
    campaign = _check_reviewable(variant, user)
    if variant.status == Variant.Status.FLAGGED:
        failed = [g.get("check", "?") for g in variant.guardrails if isinstance(g, dict) and not g.get("passed", True)]
        raise ReviewError(
            f"variant {variant.label} failed guardrails ({', '.join(failed) or 'see its results'}): edit it first"
        )
    if variant.status == Variant.Status.APPROVED:
        raise ReviewError(f"variant {variant.label} is already approved")
    problems = channel_problems(campaign, variant)
    if problems:
        raise ReviewError("; ".join(problems))
    return _review(variant, user, Variant.Status.APPROVED, "")


def do_reject_variant(variant: Variant, user: Any, reason: str) -> Variant:
    """Reject a variant; the reason is kept so generation and reviewers can learn from it."""
    _check_reviewable(variant, user)
    if not (reason or "").strip():
        raise ReviewError("a rejection needs a reason")
    if variant.status == Variant.Status.REJECTED:
        raise ReviewError(f"variant {variant.label} is already rejected")
    return _review(variant, user, Variant.Status.REJECTED, reason.strip())


def _review(variant: Variant, user: Any, status: str, reason: str) -> Variant:
    variant.status, variant.rejection_reason = status, reason
    variant.reviewed_by, variant.reviewed_at = user, timezone.now()
    variant.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at"])
    return variant


def do_edit_variant(
    variant: Variant,
    user: Any,
    *,
    subject: str | None = None,
    preheader: str | None = None,
    body: str | None = None,
) -> Variant:
    """Change the copy by hand. The model's text stays in `generated_body`; the edit needs a new approval."""
    _check_reviewable(variant, user)
    changes = {k: v for k, v in {"subject": subject, "preheader": preheader, "body": body}.items() if v is not None}
    if not changes:
        raise ReviewError("nothing to change: give a subject, preheader or body")
    if "body" in changes and not changes["body"].strip():
        raise ReviewError("the body must not be empty")
    for field, value in changes.items():
        max_length = getattr(Variant._meta.get_field(field), "max_length", None)
        if max_length and len(value) > max_length:
            raise ReviewError(f"{field} has {len(value)} characters; at most {max_length} fit")
    if not variant.generated_body:
        variant.generated_body = variant.body
    for field, value in changes.items():
        setattr(variant, field, value)
    variant.edited_by = user
    # re-checked exactly as generation checks its own copy (same segment, product, customer and context)
    results = check_variant(variant)
    variant.guardrails = results
    failed = any(not r.get("passed", False) for r in results)
    variant.status = Variant.Status.FLAGGED if failed else Variant.Status.IN_REVIEW
    variant.reviewed_by, variant.reviewed_at, variant.rejection_reason = None, None, ""
    variant.save()
    return variant
