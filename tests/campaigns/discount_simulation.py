"""A simulated discount experiment written through the real models: customers whose earlier purchases put
them in a lifecycle stage (loyal or lapsed) at assignment, an experiment with a holdout and arms at 10%,
20% and 30%, assignments, and the purchases each customer makes in the attribution window, drawn from a
known conversion rate per stage and depth. The true incremental margin per customer is therefore known.

Assignments are written round robin in customer order (not by the experiment's hash) and outcomes drawn
from a seeded generator in that order, so the same call always builds the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from campaigns.models import Arm, Assignment, Campaign, Experiment, Variant
from catalog.models import Product
from customers.lifecycle import ensure_lifecycle_segments
from customers.models import Customer, Event, EventType
from tests.catalog.builders import product
from tests.customers.builders import NOW

from .builders import campaign, variant

START = NOW  # everyone is assigned at this moment
DEPTHS = (0, 10, 20, 30)  # holdout, then the discount arms
MEAN_VALUE = 50.0  # list value of an order
MARGIN = 0.4  # the products' cost is 60% of the price (set as attributes.cost)
# true conversion in the attribution window, per lifecycle stage at assignment and depth (holdout first):
# loyal customers buy anyway (a discount only gives margin away); lapsed ones need 20% to come back.
TRUTH: dict[str, tuple[float, ...]] = {
    "loyal": (0.30, 0.30, 0.31, 0.31),
    "lapsed": (0.02, 0.06, 0.20, 0.22),
}


def true_margin(stage: str, depth_index: int) -> float:
    """Expected margin per customer: conversion x list value x (margin - discount)."""
    return TRUTH[stage][depth_index] * MEAN_VALUE * (MARGIN - DEPTHS[depth_index] / 100)


def true_incremental(stage: str, depth_index: int) -> float:
    return true_margin(stage, depth_index) - true_margin(stage, 0)


@dataclass
class Simulated:
    experiment: Experiment
    arms: dict[int, Arm]  # depth -> arm
    item: Product


def simulate(per_arm: int, *, seed: int = 7, stages: tuple[str, ...] = ("loyal", "lapsed")) -> Simulated:
    """`per_arm` customers per stage and arm (4 arms), their history, assignment and outcomes."""
    ensure_lifecycle_segments()
    rng = np.random.default_rng(seed)
    item = product(price=Decimal("50.00"), attributes={"cost": "30.00"})
    camp = campaign(status=Campaign.Status.RUNNING, attribution_days=14)
    exp = Experiment.objects.create(campaign=camp, holdout_weight=0.25, started_at=START)
    arms: dict[int, Arm] = {0: Arm.objects.create(experiment=exp, key="holdout", weight=0.25, is_control=True)}
    for depth in DEPTHS[1:]:
        v = variant(camp, label=f"D{depth}", status=Variant.Status.APPROVED)
        arms[depth] = Arm.objects.create(
            experiment=exp, key=f"D{depth}", variant=v, weight=0.25, discount_percent=Decimal(depth)
        )
    n = per_arm * len(DEPTHS) * len(stages)
    first = Customer.objects.count()
    people = Customer.objects.bulk_create(
        [Customer(external_id=f"sim-{seed}-{first}-{i}", marketing_consent=True) for i in range(n)]
    )
    events: list[Event] = []
    assignments: list[Assignment] = []
    serial = 0

    def buy(who: Customer, at: datetime, value: float) -> None:
        nonlocal serial
        serial += 1
        events.append(Event(
            customer=who, product=item, type=EventType.PURCHASE, value=Decimal(f"{value:.2f}"), quantity=1,
            order_id=f"o-{seed}-{first}-{serial}", external_id=f"sim-{seed}-{first}-{serial}", occurred_at=at,
        ))

    for i, who in enumerate(people):
        stage = stages[i // (per_arm * len(DEPTHS))]
        depth_index = i % len(DEPTHS)
        if stage == "loyal":  # three orders in the last 80 days
            for days in (80, 50, 20):
                buy(who, START - timedelta(days=days), MEAN_VALUE)
        else:  # one order a year ago
            buy(who, START - timedelta(days=365), MEAN_VALUE)
        assignments.append(Assignment(experiment=exp, arm=arms[DEPTHS[depth_index]], customer=who, assigned_at=START))
        if rng.random() < TRUTH[stage][depth_index]:
            value = MEAN_VALUE * rng.lognormal(0.0, 0.5) / np.exp(0.125)  # mean MEAN_VALUE
            buy(who, START + timedelta(days=float(rng.uniform(0.1, 13.0))), float(value))
    Event.objects.bulk_create(events)
    Assignment.objects.bulk_create(assignments)
    return Simulated(exp, arms, item)
