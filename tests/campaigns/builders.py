"""Builders for campaigns: subscribers, campaigns, copy variants, campaigns ready to approve and experiments
(arms written directly, so tests do not depend on how the experiments module allocates). Each call makes one
valid, distinct object (a counter keeps names unique); keyword arguments override any field."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.core import mail
from django.utils import timezone

from campaigns import actions, experiments
from campaigns.models import Arm, Campaign, Experiment, Variant
from customers.models import Customer, EventType
from tests.customers.builders import customer, event
from tests.jobs.builders import author

UNSUBSCRIBE_LINE = "You receive this because you opted in. Reply STOP to unsubscribe."
# what generation records with a variant, as the review page shows it (pass as `variant(..., **GENERATION_TRACE)`)
GENERATION_TRACE: dict[str, Any] = {
    "model_name": "qwen2.5-0.5b-instruct", "attempts": 2, "relevance": 0.71, "prompt": "Write an email about mugs.",
    "guardrails": [
        {"check": "length", "passed": True, "detail": ""},
        {"check": "banned_words", "passed": True, "detail": ""},
    ],
}
_seq = itertools.count(1)


def subscriber(**fields: Any) -> Customer:
    """A customer a campaign may reach: with an email and marketing consent."""
    return customer(**{"marketing_consent": True, **fields})


def campaign(**fields: Any) -> Campaign:
    """A draft email campaign whose brief is complete (offer, unsubscribe line), made by `author()`."""
    n = next(_seq)
    defaults: dict[str, Any] = {
        "name": f"Autumn mugs {n}", "brief": "Sell stoneware mugs to tea lovers.", "channel": "email",
        "required_text": UNSUBSCRIBE_LINE, "offer": "15% off with code AUTUMN15", "created_by": author(),
    }
    return Campaign.objects.create(**{**defaults, **fields})


def variant(campaign: Campaign, **fields: Any) -> Variant:
    """A variant of `campaign` in review, labelled with the next letter; `generated_body` is its body."""
    body = fields.get("body", "Warm tea, warm hands: our stoneware mugs are back.")
    defaults: dict[str, Any] = {
        "label": chr(ord("A") + campaign.variants.count()), "subject": "Your next favourite mug",
        "preheader": "Stoneware that keeps tea warm", "body": body, "generated_body": body,
    }
    return Variant.objects.create(campaign=campaign, **{**defaults, **fields})


def approvable(**fields: Any) -> Campaign:
    """An email campaign in review (unless `status` says otherwise) with one approved variant and one subscriber."""
    camp = campaign(**{"status": Campaign.Status.IN_REVIEW, **fields})
    variant(camp, status=Variant.Status.APPROVED)
    subscriber()
    return camp


def proofed(campaign: Campaign, to: str = "proofs@example.com") -> Campaign:
    """The campaign after a real test send of its current copy (as the system, to `to`), which a send needs
    before it starts; the proofs are taken out of the test outbox so a test counts only the real send."""
    actions.do_test_send(campaign, None, to)
    if hasattr(mail, "outbox"):
        mail.outbox.clear()
    return campaign


def experiment(campaign: Campaign, *, holdout: float = 0.0) -> Experiment:
    """The campaign's experiment: one arm per approved variant (the first is the control), and a holdout arm
    when `holdout` > 0."""
    exp = Experiment.objects.create(campaign=campaign, holdout_weight=holdout)
    for i, v in enumerate(campaign.variants.filter(status=Variant.Status.APPROVED).order_by("label")):
        Arm.objects.create(experiment=exp, key=v.label, variant=v, is_control=i == 0)
    if holdout:
        Arm.objects.create(experiment=exp, key="holdout", variant=None, weight=holdout)
    return exp


def experiment_under_way(name: str | None = None) -> Campaign:
    """A running A/B test of two variants with a holdout, started three days ago: 12 subscribers assigned, the
    offered ones exposed and every other one opening."""
    camp = campaign(status=Campaign.Status.IN_REVIEW, **({"name": name} if name else {}))
    for _ in range(2):
        variant(camp, status=Variant.Status.APPROVED)
    experiment = experiments.create_experiment(camp, holdout_weight=0.2, minimum_sample=5)
    Campaign.objects.filter(pk=camp.pk).update(status=Campaign.Status.RUNNING)
    start = timezone.now() - timedelta(days=3)
    people = [subscriber() for _ in range(12)]
    assigned = experiments.assign(experiment, [p.pk for p in people], now=start)
    for i, who in enumerate(people):
        if not assigned[who.pk].is_holdout:
            event(who, EventType.EXPOSURE, occurred_at=start + timedelta(hours=1), attributes={"campaign": camp.pk})
            if i % 2:
                event(who, EventType.OPEN, occurred_at=start + timedelta(days=1), attributes={"campaign": camp.pk})
    return camp
