"""Thompson sampling: running experiments move new customers towards the arms that are doing best.

Each due experiment's variant arms are re-weighted from the Beta posteriors of its primary metric; old
customers never move (assignment is recorded once, `campaigns.experiments.assign`). The beat task
`campaigns.reweight_experiments` (in `campaigns.tasks`) calls `reweight_due` every hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from . import experiment_stats as st
from .models import Arm, Campaign, Experiment, Variant
from .outcomes import OUTCOME_OF_METRIC, arm_outcomes

THOMPSON_FLOOR = 0.01  # each variant arm keeps at least this share of the variant traffic: never starved

def reweight(
    experiment: Experiment, now: datetime | None = None, *, draws: int = st.MONTE_CARLO_DRAWS
) -> dict[str, float] | None:
    """Thompson allocation: set variant arm weights from the Beta posteriors of the primary metric.

    Each approved variant arm gets (1 - holdout_weight) x its probability of being the best variant arm
    (exact for two arms, seeded Monte Carlo for more), floored at THOMPSON_FLOOR of the variant traffic;
    the holdout keeps holdout_weight. Runs only for Thompson experiments that have started and whose last
    re-weight (or start) is at least `reweight_hours` old; a compare-and-set on `last_reweighted_at` makes
    concurrent callers re-weight once. Returns {arm key: new weight}, or None when nothing was due.
    """
    if experiment.allocation != Experiment.Allocation.THOMPSON:
        return None
    now = now or timezone.now()
    since = experiment.last_reweighted_at or experiment.started_at
    if since is None or now - since < timedelta(hours=experiment.reweight_hours):
        return None
    arms = list(Arm.objects.filter(experiment=experiment).select_related("variant").order_by("key"))
    live = [arm for arm in arms if arm.variant is not None and arm.variant.status == Variant.Status.APPROVED]
    if not live:
        return None
    outcome = OUTCOME_OF_METRIC[experiment.primary_metric]
    outcomes = arm_outcomes(experiment, until=now)
    seed = (experiment.pk * 1_000_003 + int(now.timestamp())) % 2**32
    probs, _ = st.prob_best(
        [(outcomes[a.key][outcome], outcomes[a.key]["assigned"]) for a in live], seed=seed, draws=draws
    )
    floored = [max(p, THOMPSON_FLOOR) for p in probs]
    h = experiment.holdout_weight
    new = {arm.key: (1 - h) * f / sum(floored) for arm, f in zip(live, floored, strict=True)}
    with transaction.atomic():
        claimed = Experiment.objects.filter(pk=experiment.pk, last_reweighted_at=experiment.last_reweighted_at).update(
            last_reweighted_at=now
        )
        if not claimed:
            return None
        for arm in arms:
            arm.weight = new.get(arm.key, h if arm.is_holdout else 0.0)
        Arm.objects.bulk_update(arms, ["weight"])
    experiment.last_reweighted_at = now
    return {arm.key: arm.weight for arm in arms}


def reweight_due(now: datetime | None = None) -> int:
    """Re-weight every running Thompson experiment that is due; returns how many were re-weighted."""
    done = 0
    experiments = Experiment.objects.filter(
        allocation=Experiment.Allocation.THOMPSON,
        campaign__status=Campaign.Status.RUNNING,
        finished_at__isnull=True,
    )
    for experiment in experiments:
        if reweight(experiment, now) is not None:
            done += 1
    return done

