"""A campaign's experiment set up: its arms and the stable assignment of customers to them.

What happens next lives beside it: attribution of outcomes (`campaigns.outcomes`), the analysis and the
winner rule (`campaigns.analysis`), Thompson re-weighting (`campaigns.thompson`), the maths
(`campaigns.experiment_stats`, pure, simulated in `evaluation/experiments.py`); a manager's override of
the winner is a step of `campaigns.actions`.

Arms (`ensure_arms`): one per approved variant (`Variant.Status.APPROVED`, campaign-level: variants
written for a single customer are not arms) plus a `holdout` arm (no message) when `holdout_weight > 0`.
The control is the holdout when there is one (lift = what the message adds over sending nothing), else the
first arm by key; a manager may move it with `set_control`. When arms are added, weights are reset to an
equal split of `1 - holdout_weight` (the holdout keeps `holdout_weight`); arms whose variant is no longer
approved get weight 0 (no new customers; the ones they have stay).

Assignment (`assign`): u = sha256("experiment id:customer id") as a number in [0, 1), mapped onto the
cumulative weights of the arms with a weight, in key order. Recorded once (`bulk_create` ignoring
conflicts on the unique (experiment, customer)), so re-running never moves a customer, and the returned
arm is always the stored one. Thompson re-weighting changes the weights new customers see, never old ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from customers.models import Customer

from . import experiment_stats as st
from .models import Arm, Assignment, Campaign, Experiment, Variant

HOLDOUT_KEY = "holdout"
METRICS: tuple[str, ...] = tuple(Experiment.Metric.values)  # open, click, conversion
ASSIGN_CHUNK = 5_000  # customer ids per query (an IN list and a bulk insert of this size stay small)


class ExperimentError(ValueError):
    """A bad setting or request; the message names the field or value and the reason."""


# --- setting up ----------------------------------------------------------------------------------------


def _validate(values: dict[str, Any]) -> None:
    checks = {
        "holdout_weight": lambda v: 0 <= v < 1,
        "alpha": lambda v: 0 < v < 1,
        "power": lambda v: 0 < v < 1,
        "minimum_detectable_effect": lambda v: 0 < v < 1,
        "minimum_sample": lambda v: v >= 1,
        "reweight_hours": lambda v: v >= 1,
    }
    for name, ok in checks.items():
        if name in values and not ok(values[name]):
            raise ExperimentError(f"{name}={values[name]!r} is out of range")
    if "allocation" in values and values["allocation"] not in Experiment.Allocation.values:
        raise ExperimentError(f"allocation={values['allocation']!r}; choose one of {Experiment.Allocation.values}")
    if "primary_metric" in values and values["primary_metric"] not in METRICS:
        raise ExperimentError(f"primary_metric={values['primary_metric']!r}; choose one of {list(METRICS)}")


def create_experiment(campaign: Campaign, **settings_: Any) -> Experiment:
    """The campaign's experiment (created, or its settings updated), with its arms ensured.

    Keyword settings are Experiment fields: allocation, holdout_weight, primary_metric, alpha, minimum_sample,
    minimum_detectable_effect, power, reweight_hours. Raises ExperimentError for unknown fields or values
    out of range. Changing weights after assignments began makes the SRM check meaningless: do it before.
    """
    allowed = {
        "allocation",
        "holdout_weight",
        "primary_metric",
        "alpha",
        "minimum_sample",
        "minimum_detectable_effect",
        "power",
        "reweight_hours",
    }
    unknown = set(settings_) - allowed
    if unknown:
        raise ExperimentError(f"unknown experiment settings {sorted(unknown)}; known: {sorted(allowed)}")
    _validate(settings_)
    with transaction.atomic():
        experiment, created = Experiment.objects.select_for_update().get_or_create(
            campaign=campaign, defaults=settings_
        )
        if not created and settings_:
            for name, value in settings_.items():
                setattr(experiment, name, value)
            experiment.save(update_fields=list(settings_))
        ensure_arms(experiment)
    return experiment


def _arm_key(variant: Variant, taken: set[str]) -> str:
    key = (variant.label or "").strip()[:20] or f"v{variant.pk}"
    if key in taken or key == HOLDOUT_KEY:
        key = f"{key}-{variant.pk}"
    return key


def ensure_arms(experiment: Experiment) -> list[Arm]:
    """Create missing arms (approved variants, holdout), fix weights and the control; idempotent."""
    with transaction.atomic():
        Experiment.objects.select_for_update().filter(pk=experiment.pk).first()  # one ensure_arms at a time
        arms = list(Arm.objects.filter(experiment=experiment))
        by_variant = {arm.variant_id: arm for arm in arms}
        taken = {arm.key for arm in arms}
        approved = list(
            Variant.objects.filter(
                campaign_id=experiment.campaign_id, status=Variant.Status.APPROVED, customer__isnull=True
            ).order_by("label", "pk")
        )
        approved_ids = {v.pk for v in approved}
        added = False
        for variant in approved:
            if variant.pk not in by_variant:
                key = _arm_key(variant, taken)
                taken.add(key)
                arm = Arm.objects.create(experiment=experiment, key=key, variant=variant, weight=0.0)
                arms.append(arm)
                by_variant[variant.pk] = arm
                added = True
        holdout = by_variant.get(None)
        h = experiment.holdout_weight
        if holdout is None and h > 0:
            holdout = Arm.objects.create(experiment=experiment, key=HOLDOUT_KEY, variant=None, weight=h)
            arms.append(holdout)
            added = True
        live = [arm for arm in arms if arm.variant_id in approved_ids]
        changed: list[Arm] = []
        for arm in arms:
            if arm.variant_id is None:
                weight = h
            elif arm.variant_id not in approved_ids:
                weight = 0.0
            elif added:
                weight = (1 - h) / len(live)
            else:
                continue
            if arm.weight != weight:
                arm.weight = weight
                changed.append(arm)
        if not any(arm.is_control for arm in arms) and arms:
            control = holdout if holdout is not None else min(live or arms, key=lambda a: a.key)
            control.is_control = True
            changed.append(control)
        if changed:
            Arm.objects.bulk_update(set(changed), ["weight", "is_control"])
    return sorted(arms, key=lambda a: a.key)


def set_control(experiment: Experiment, arm: Arm) -> None:
    """Make `arm` the experiment's only control (lifts are measured against it)."""
    if arm.experiment_id != experiment.pk:
        raise ExperimentError(f"arm {arm.key} belongs to another experiment")
    with transaction.atomic():
        Arm.objects.filter(experiment=experiment).exclude(pk=arm.pk).update(is_control=False)
        Arm.objects.filter(pk=arm.pk).update(is_control=True)
    arm.is_control = True


# --- assignment --------------------------------------------------------------------------------------


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def assign(experiment: Experiment, customer_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, Arm]:
    """Each customer's arm: the stored one, or a new one by stable hash on the current weights (stored).

    Raises ExperimentError when no arm has a weight or a customer id does not exist.
    """
    ids = list(dict.fromkeys(int(c) for c in customer_ids))
    arms = list(Arm.objects.filter(experiment=experiment).select_related("variant").order_by("key"))
    by_id = {arm.pk: arm for arm in arms}
    weighted = [arm for arm in arms if arm.weight > 0]
    if not weighted:
        raise ExperimentError("the experiment has no arm with a weight above 0: approve a variant, then ensure_arms")
    weights = [arm.weight for arm in weighted]
    now = now or timezone.now()
    result: dict[int, Arm] = {}
    for chunk in _chunks(ids, ASSIGN_CHUNK):
        stored = dict(
            Assignment.objects.filter(experiment=experiment, customer_id__in=chunk).values_list("customer_id", "arm_id")
        )
        fresh = [c for c in chunk if c not in stored]
        if fresh:
            known = set(Customer.objects.filter(pk__in=fresh).values_list("pk", flat=True))
            missing = [c for c in fresh if c not in known]
            if missing:
                raise ExperimentError(f"unknown customer ids {missing[:10]}{' ...' if len(missing) > 10 else ''}")
            Assignment.objects.bulk_create(
                [
                    Assignment(
                        experiment=experiment,
                        customer_id=c,
                        arm=weighted[st.pick_index(st.stable_unit(experiment.pk, c), weights)],
                        assigned_at=now,
                    )
                    for c in fresh
                ],
                ignore_conflicts=True,
            )
            # read back: a concurrent caller may have stored another arm first; the stored row is the truth
            stored.update(
                Assignment.objects.filter(experiment=experiment, customer_id__in=fresh).values_list(
                    "customer_id", "arm_id"
                )
            )
        result.update({c: by_id[stored[c]] for c in chunk})
    if ids and experiment.started_at is None:
        Experiment.objects.filter(pk=experiment.pk, started_at__isnull=True).update(started_at=now)
        experiment.started_at = now
    return result

