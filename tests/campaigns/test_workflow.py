"""The campaign status machine (`campaigns.workflow`) through its one way of moving (`campaigns.actions`), and
variant review: every edge allowed or refused, requirements, roles."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from campaigns import actions, workflow
from campaigns.actions import do_transition
from campaigns.models import Campaign, CampaignTransition, Experiment, Variant
from campaigns.workflow import ReviewError, TransitionError, check_transition

from .builders import UNSUBSCRIBE_LINE, approvable, campaign, experiment, subscriber, variant

pytestmark = pytest.mark.django_db

STATUSES = list(Campaign.Status.values)
ALLOWED = {
    ("draft", "generating"), ("draft", "in_review"), ("draft", "finished"),
    ("generating", "in_review"), ("generating", "draft"), ("generating", "finished"),
    ("in_review", "approved"), ("in_review", "draft"), ("in_review", "finished"),
    ("approved", "running"), ("approved", "in_review"), ("approved", "finished"),
    ("running", "finished"),
}


def ready(status: str) -> Campaign:
    """A campaign meeting every requirement (approved variant, audience, experiment), put in `status`."""
    camp = approvable()
    experiment(camp)
    Campaign.objects.filter(pk=camp.pk).update(status=status)
    camp.refresh_from_db()
    return camp


def test_the_documented_edges_are_the_implemented_ones() -> None:
    implemented = {(a, b) for a, targets in workflow.ALLOWED.items() for b in targets}
    assert implemented == ALLOWED


@pytest.mark.parametrize(("source", "target"), [p for p in itertools.permutations(STATUSES, 2) if p in ALLOWED])
def test_allowed_transition(source: str, target: str, manager: User) -> None:
    camp = ready(source)
    record = do_transition(camp, target, manager, note="because")
    camp.refresh_from_db()
    assert camp.status == target
    assert camp.status_changed_by == manager and camp.status_changed_at is not None
    assert (record.from_status, record.to_status, record.user, record.note) == (source, target, manager, "because")
    assert CampaignTransition.objects.filter(campaign=camp).count() == 1


@pytest.mark.parametrize(("source", "target"), [p for p in itertools.permutations(STATUSES, 2) if p not in ALLOWED])
def test_forbidden_transition(source: str, target: str, manager: User) -> None:
    camp = ready(source)
    with pytest.raises(TransitionError, match=f"cannot go from {source} to {target}"):
        do_transition(camp, target, manager, note="because")
    camp.refresh_from_db()
    assert camp.status == source
    assert not CampaignTransition.objects.filter(campaign=camp).exists()


def test_same_status_and_unknown_status_are_refused(manager: User) -> None:
    camp = ready("draft")
    with pytest.raises(TransitionError, match="already draft"):
        check_transition(camp, "draft", manager)
    with pytest.raises(TransitionError, match="unknown status 'paused'"):
        check_transition(camp, "paused", manager)


def test_analyst_and_groupless_users_may_not_move_a_campaign(analyst: User, nobody: User) -> None:
    camp = ready("in_review")
    for user in (analyst, nobody):
        with pytest.raises(PermissionDenied, match="campaign managers"):
            do_transition(camp, "approved", user)
    camp.refresh_from_db()
    assert camp.status == "in_review"


def test_superuser_and_system_may_move_a_campaign() -> None:
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    camp = ready("draft")
    do_transition(camp, "generating", boss)
    do_transition(camp, "in_review", None, note="generation finished")  # the generation job
    users = CampaignTransition.objects.filter(campaign=camp).order_by("id").values_list("user__username", flat=True)
    assert list(users) == ["boss", None]


def test_draft_to_review_needs_variants(manager: User) -> None:
    camp = campaign()
    with pytest.raises(TransitionError, match="no variants to review"):
        do_transition(camp, "in_review", manager)


def test_approval_needs_an_approved_variant(manager: User) -> None:
    camp = campaign(status="in_review")
    variant(camp)  # in review, not approved
    subscriber()
    with pytest.raises(TransitionError, match="no variant is approved yet"):
        do_transition(camp, "approved", manager)


def test_email_approval_needs_the_unsubscribe_line_and_a_subject(manager: User) -> None:
    camp = approvable(required_text="")
    Variant.objects.filter(campaign=camp).update(subject="")
    with pytest.raises(TransitionError) as caught:
        do_transition(camp, "approved", manager)
    assert "unsubscribe line" in str(caught.value) and "an email needs a subject" in str(caught.value)


def test_approval_needs_a_non_empty_valid_audience(manager: User) -> None:
    camp = approvable(audience_filters={"locale": "fr"})
    with pytest.raises(TransitionError, match="the audience is empty"):
        do_transition(camp, "approved", manager)
    Campaign.objects.filter(pk=camp.pk).update(audience_filters={"planet": "mars"})
    camp.refresh_from_db()
    with pytest.raises(TransitionError, match="audience is invalid: unknown audience filter"):
        do_transition(camp, "approved", manager)


def test_sms_variant_over_160_characters_blocks_approval(manager: User) -> None:
    camp = approvable(channel="sms", required_text="")
    subscriber(attributes={"phone": "+447700900001"})
    Variant.objects.filter(campaign=camp).update(body="x" * 161)
    with pytest.raises(TransitionError, match="body has 161 characters, sms allows 160"):
        do_transition(camp, "approved", manager)


def test_running_needs_an_experiment_with_an_approved_arm(manager: User) -> None:
    camp = approvable()
    Campaign.objects.filter(pk=camp.pk).update(status="approved")
    camp.refresh_from_db()
    with pytest.raises(TransitionError, match="no experiment"):
        do_transition(camp, "running", manager)
    Experiment.objects.create(campaign=camp)
    with pytest.raises(TransitionError, match="no arm with an approved variant"):
        do_transition(camp, "running", manager)


def test_running_and_finishing_stamp_the_experiment(manager: User) -> None:
    camp = ready("approved")
    do_transition(camp, "running", manager)
    exp = Experiment.objects.get(campaign=camp)
    assert exp.started_at is not None and exp.finished_at is None
    do_transition(camp, "finished", manager)  # finishing a running campaign needs no note
    exp.refresh_from_db()
    assert exp.finished_at is not None


def test_cancelling_before_running_needs_a_note(manager: User) -> None:
    camp = ready("approved")
    with pytest.raises(TransitionError, match="needs a note"):
        do_transition(camp, "finished", manager)
    do_transition(camp, "finished", manager, note="offer withdrawn")
    assert CampaignTransition.objects.get(campaign=camp).note == "offer withdrawn"


def test_transition_rechecks_the_stored_status(manager: User) -> None:
    """A stale object in memory cannot skip the machine: the locked row decides."""
    camp = ready("in_review")
    stale = Campaign.objects.get(pk=camp.pk)
    do_transition(camp, "approved", manager)
    with pytest.raises(TransitionError, match="cannot go from approved to draft"):
        do_transition(stale, "draft", manager)  # stale still says in_review, where draft would be allowed


# --- Variant review ---------------------------------------------------------------------------------------


def test_approve_and_reject_record_the_reviewer(manager: User) -> None:
    camp = campaign(status="in_review")
    a, b = variant(camp), variant(camp)
    actions.do_approve_variant(a, manager)
    actions.do_reject_variant(b, manager, "  sounds pushy  ")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.reviewed_by, a.rejection_reason) == ("approved", manager, "")
    assert (b.status, b.reviewed_by, b.rejection_reason) == ("rejected", manager, "sounds pushy")
    assert a.reviewed_at is not None
    actions.do_approve_variant(b, manager)  # a rejected variant can still be approved later
    b.refresh_from_db()
    assert (b.status, b.rejection_reason) == ("approved", "")


def test_reject_needs_a_reason(manager: User) -> None:
    v = variant(campaign(status="in_review"))
    for reason in ("", "   "):
        with pytest.raises(ReviewError, match="needs a reason"):
            actions.do_reject_variant(v, manager, reason)
    v.refresh_from_db()
    assert v.status == "in_review"


def test_flagged_variant_must_be_edited_before_approval(manager: User) -> None:
    v = variant(
        campaign(status="in_review"), status="flagged",
        guardrails=[{"check": "banned_words", "passed": False, "detail": "cheap"}],
    )
    with pytest.raises(ReviewError, match=r"failed guardrails \(banned_words\)"):
        actions.do_approve_variant(v, manager)


def test_approve_checks_channel_limits(manager: User) -> None:
    v = variant(campaign(status="in_review", channel="push"), subject="t" * 51)
    with pytest.raises(ReviewError, match="subject has 51 characters, push allows 50"):
        actions.do_approve_variant(v, manager)


def test_analyst_cannot_review(analyst: User) -> None:
    v = variant(campaign(status="in_review"))
    with pytest.raises(PermissionDenied):
        actions.do_approve_variant(v, analyst)
    with pytest.raises(PermissionDenied):
        actions.do_reject_variant(v, analyst, "no")
    with pytest.raises(PermissionDenied):
        actions.do_edit_variant(v, analyst, body="mine")
    v.refresh_from_db()
    assert (v.status, v.body) == ("in_review", "Warm tea, warm hands: our stoneware mugs are back.")


def test_review_is_closed_once_the_campaign_is_approved(manager: User) -> None:
    camp = ready("approved")
    v = camp.variants.get()
    with pytest.raises(ReviewError, match="only while the campaign is draft or in review; it is approved"):
        actions.do_edit_variant(v, manager, body="Sneaky change after approval")
    with pytest.raises(ReviewError, match="it is approved"):
        actions.do_reject_variant(v, manager, "late")


def test_edit_keeps_the_generated_text_and_needs_a_new_approval(manager: User) -> None:
    camp = campaign(status="in_review")
    v = variant(camp, generated_body="", body="Model text", status="approved")
    body = f"Our stoneware mugs keep tea warm. {UNSUBSCRIBE_LINE}"
    actions.do_edit_variant(v, manager, subject="Stoneware mugs", body=body)
    v.refresh_from_db()
    assert (v.subject, v.body, v.generated_body) == ("Stoneware mugs", body, "Model text")
    assert (v.status, v.edited_by, v.reviewed_by) == ("in_review", manager, None)
    assert v.guardrails and all(row["passed"] for row in v.guardrails), v.guardrails
    actions.do_edit_variant(v, manager, body=f"Second edit. {UNSUBSCRIBE_LINE}")
    v.refresh_from_db()
    assert v.generated_body == "Model text"  # the model's text survives every edit


def test_edit_is_rechecked_by_the_guardrails(manager: User) -> None:
    camp = campaign(status="in_review", banned_words=["cheap"])
    v = variant(camp, status="approved")
    actions.do_edit_variant(v, manager, body=f"Cheap mugs, call 0800 123 4567 now! {UNSUBSCRIBE_LINE}")
    v.refresh_from_db()
    failed = {row["check"] for row in v.guardrails if not row["passed"]}
    assert v.status == "flagged" and {"banned_words", "contact_details"} <= failed
    with pytest.raises(ReviewError, match="failed guardrails"):
        actions.do_approve_variant(v, manager)
    actions.do_edit_variant(v, manager, body=f"Stoneware mugs that keep tea warm. {UNSUBSCRIBE_LINE}")
    v.refresh_from_db()
    assert v.status == "in_review"
    actions.do_approve_variant(v, manager)


def test_edit_rejects_empty_and_oversized_input(manager: User) -> None:
    v = variant(campaign(status="in_review"))
    with pytest.raises(ReviewError, match="nothing to change"):
        actions.do_edit_variant(v, manager)
    with pytest.raises(ReviewError, match="body must not be empty"):
        actions.do_edit_variant(v, manager, body="  ")
    with pytest.raises(ReviewError, match="subject has 201 characters; at most 200"):
        actions.do_edit_variant(v, manager, subject="s" * 201)
