"""An experiment an uplift model can learn from: an offer arm and a holdout, customers whose pre-experiment
views mark them as persuadable (the offer lifts their conversion from 10% to 60%; others convert at 10%
either way), purchases inside the attribution window. Rows written in bulk; a fixed seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from campaigns.models import Arm, Assignment, Campaign, Experiment, Variant
from customers.models import Customer, Event, EventType

from .builders import campaign, variant

START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def offer_experiment(
    n: int = 800, *, seed: int = 0, converting: bool = True, control: bool = True, tag: str = "u"
) -> Experiment:
    """`n` consenting customers split 50/50 between offer arm "A" and the "holdout" (the control unless
    `control` is False); every third customer viewed products in the week before the start (a persuadable)."""
    rng = np.random.default_rng(seed)
    camp = campaign(status=Campaign.Status.RUNNING)
    offer_variant = variant(camp, status=Variant.Status.APPROVED)
    exp = Experiment.objects.create(campaign=camp, holdout_weight=0.5, started_at=START)
    offer = Arm.objects.create(experiment=exp, key="A", variant=offer_variant, weight=0.5, is_control=not control)
    holdout = Arm.objects.create(experiment=exp, key="holdout", variant=None, weight=0.5, is_control=control)
    people = Customer.objects.bulk_create([
        Customer(external_id=f"{tag}-{exp.pk}-{i}", email=f"{tag}{exp.pk}-{i}@example.com", marketing_consent=True,
                 created_at=START - timedelta(days=90))
        for i in range(n)
    ])
    treated = rng.random(n) < 0.5
    assignments, events = [], []
    for i, person in enumerate(people):
        persuadable = i % 3 == 0
        arm = offer if treated[i] else holdout
        assignments.append(Assignment(experiment=exp, arm=arm, customer=person, assigned_at=START))
        if persuadable:
            events += [Event(external_id=f"{tag}v-{person.pk}-{d}", customer=person, type=EventType.VIEW,
                             occurred_at=START - timedelta(days=d + 1)) for d in range(3)]
        p = 0.6 if persuadable and treated[i] else 0.1
        if converting and rng.random() < p:
            events.append(Event(external_id=f"{tag}p-{person.pk}", customer=person, type=EventType.PURCHASE,
                                quantity=1, value=Decimal("20.00"), occurred_at=START + timedelta(days=1)))
    Assignment.objects.bulk_create(assignments)
    Event.objects.bulk_create(events)
    return exp
