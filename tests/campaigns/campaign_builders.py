"""Builders for the campaign tests: a campaign that is ready to approve, consenting customers, an experiment
with arms (written directly, so these tests do not depend on how the experiments module allocates), and a
signed-in admin client."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from campaigns.models import Arm, Campaign, Experiment, Variant
from customers.models import Customer

_seq = itertools.count(1)
UNSUBSCRIBE_LINE = "You receive this because you opted in. Reply STOP to unsubscribe."


def customer(**fields: Any) -> Customer:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "external_id": f"wf-cust-{n:05d}", "email": f"wf{n}@example.com", "name": "Ada Lovelace",
        "marketing_consent": True,
    }
    return Customer.objects.create(**{**defaults, **fields})


def campaign(**fields: Any) -> Campaign:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "name": f"Autumn mugs {n}", "brief": "Sell stoneware mugs to tea lovers.", "channel": "email",
        "required_text": UNSUBSCRIBE_LINE, "offer": "15% off with code AUTUMN15",
    }
    return Campaign.objects.create(**{**defaults, **fields})


def variant(camp: Campaign, **fields: Any) -> Variant:
    defaults: dict[str, Any] = {
        "label": chr(ord("A") + camp.variants.count()), "subject": "Your next favourite mug",
        "preheader": "Stoneware that keeps tea warm", "body": "Warm tea, warm hands: our stoneware mugs are back.",
        "generated_body": "Warm tea, warm hands: our stoneware mugs are back.",
    }
    return Variant.objects.create(campaign=camp, **{**defaults, **fields})


def approvable(**fields: Any) -> Campaign:
    """An in-review email campaign with one approved variant and one consenting customer."""
    camp = campaign(status="in_review", **fields)
    variant(camp, status="approved")
    customer()
    return camp


def experiment(camp: Campaign, holdout: float = 0.0) -> Experiment:
    exp = Experiment.objects.create(campaign=camp, holdout_weight=holdout)
    for i, v in enumerate(camp.variants.filter(status="approved").order_by("label")):
        Arm.objects.create(experiment=exp, key=v.label, variant=v, is_control=i == 0)
    if holdout:
        Arm.objects.create(experiment=exp, key="holdout", variant=None, weight=holdout)
    return exp


def admin_login(client: Client, user: User) -> Client:
    """`client` signed in to the admin as `user` (made staff: what a person's role decides is the group)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client
