"""The rules of a campaign's life: the status machine, what blocks each status, and who may change anything.

Nothing here writes: `campaigns.actions` checks these rules and makes every change (on a locked row,
with the move recorded), so the admin, the API and the jobs all go one way through them.

Statuses and their edges (`ALLOWED`):

    draft --> generating --> in_review --> approved --> running --> finished
      |  ^        |              |  ^         |
      |  '--------'  (failed)    |  '---------'  (reopen review before anything is sent)
      |                          v
      '--> in_review (hand-written variants)      in_review --> draft (regenerate)

    cancel: any status except finished --> finished, with a note saying why (`CANCEL_NEEDS_NOTE`).
    finished is terminal.

Rules checked by `check_transition(campaign, to, actor)` (raises `TransitionError`, a ValueError, for a
forbidden edge or an unmet requirement, and `django.core.exceptions.PermissionDenied` for the actor):
- the actor needs `campaigns.change_campaign` (the "campaign manager" group); analysts only read.
  `None` is the system itself (a job such as generation moving generating -> in_review).
- -> in_review from draft: the campaign has at least one variant.
- -> approved: at least one approved variant, a complete brief (name, brief text, a valid audience that is
  not empty, for email a subject on every approved variant and `required_text` holding the unsubscribe
  line), and every approved variant fits the channel limits (`CHANNEL_LIMITS`).
- -> running: still approvable, plus an experiment whose arms include at least one approved variant.
- finished from anything but running: a cancel; needs a note (`check_cancel_note`).

Variants are reviewed (approved, rejected, edited) only while the campaign is draft or in review
(`check_reviewable`). Delivery re-checks approval (`campaigns.delivery.check_can_send`): nothing is sent
without it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from core.actors import Actor, has_perm

from .audience import AudienceError, audience_size
from .channels import LIMITS
from .models import Campaign, Experiment, Variant

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


def check_permission(actor: Actor) -> None:
    """Campaign managers (model permission `campaigns.change_campaign`) may change campaigns; None is the system."""
    if actor is None:
        return
    if not has_perm(actor, CHANGE_PERMISSION):
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
    """What keeps the campaign from being approved (or sent) now: its approved variants and its brief."""
    approved = list(campaign.variants.filter(status=Variant.Status.APPROVED))
    problems = [] if approved else ["no variant is approved yet"]
    for variant in approved:
        problems.extend(channel_problems(campaign, variant))
    return problems + brief_problems(campaign)


def experiment_problems(campaign: Campaign) -> list[str]:
    """What keeps the campaign's experiment from running: it must exist and have an approved arm."""
    experiment = Experiment.objects.filter(campaign=campaign).first()
    if experiment is None:
        return ["the campaign has no experiment: create it (and its arms) first"]
    if not experiment.arms.filter(variant__status=Variant.Status.APPROVED).exists():
        return ["the experiment has no arm with an approved variant"]
    return []


def check_transition(campaign: Campaign, to: str, actor: Actor) -> None:
    """Raise unless `actor` may move `campaign` from its status to `to` now (see the module docstring)."""
    if to not in Status.values:
        raise TransitionError(f"unknown status {to!r}; statuses are {', '.join(Status.values)}")
    check_permission(actor)
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
    """Finishing a campaign before it ran is a cancel, and a cancel says why."""
    if to == Status.FINISHED and campaign.status != Status.RUNNING and CANCEL_NEEDS_NOTE and not note.strip():
        raise TransitionError(f"cancelling a {campaign.status} campaign (finishing it before it ran) needs a note")


def check_reviewable(campaign: Campaign, actor: Actor) -> None:
    """Variants are approved, rejected or edited by campaign managers, while the campaign is draft or in review."""
    check_permission(actor)
    if campaign.status not in REVIEWABLE_CAMPAIGN:
        raise ReviewError(
            f"variants can be reviewed or edited only while the campaign is draft or in review; it is {campaign.status}"
        )
