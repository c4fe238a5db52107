"""A campaign's experiment: arms, stable assignment, Thompson re-weighting, attribution and analysis.

The maths lives in `campaigns.statistics` (pure, simulated in `evaluation/experiments.py`); this module
reads and writes the database.

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

Attribution (`arm_outcomes`), all within the customer's window [assigned_at, assigned_at + campaign.
attribution_days), with `until` as an optional cut-off:
- exposed / opened / clicked: EXPOSURE / OPEN / CLICK events tagged `attributes.campaign == campaign id`
  (they answer this campaign's message; an untagged click on the site is not about the message);
- converted: any PURCHASE (tagged or not), revenue = the sum of their values. Counting untagged purchases is
  what makes the holdout comparison measure the message's incremental effect.
Rates use everyone assigned as denominator (intention to treat: a failed send stays in its arm, so arms
remain comparable). Open and click are compared among message arms only (the holdout gets no message, so
its open rate is zero by construction); their control is the control arm, or the first message arm by
key when the control is the holdout.

Analysis: see `analyse`. Winner: `choose_winner` applies the rule of `statistics.decide_winner` to the
primary metric; `override_winner` records a manager's choice, which the rule then never overwrites.
SRM: fixed allocation tests assigned counts against the arms' weights (so weights should not be edited
mid-experiment); Thompson allocation changes variant weights over time, so only the holdout's share
(fixed) is tested against the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, Event, EventType

from . import statistics as st
from .models import Arm, Assignment, Campaign, Experiment, Variant

HOLDOUT_KEY = "holdout"
METRICS: tuple[str, ...] = tuple(Experiment.Metric.values)  # open, click, conversion
OUTCOME_OF_METRIC = {"open": "opened", "click": "clicked", "conversion": "converted"}
MESSAGE_ONLY_METRICS = {"open", "click"}  # the holdout is left out of their comparisons
ASSIGN_CHUNK = 5_000  # customer ids per query (an IN list and a bulk insert of this size stay small)
THOMPSON_FLOOR = 0.01  # each variant arm keeps at least this share of the variant traffic: never starved
CHANGE_PERMISSION = "campaigns.change_experiment"


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


# --- attribution ---------------------------------------------------------------------------------------

_TAGGED = "e.attributes->>'campaign' = %(campaign)s"
_KIND_SQL = {
    "exposed": f"e.type = %(exposure)s AND {_TAGGED}",
    "opened": f"e.type = %(open)s AND {_TAGGED}",
    "clicked": f"e.type = %(click)s AND {_TAGGED}",
    "converted": "e.type = %(purchase)s",
}


def _params(experiment: Experiment, until: datetime | None) -> dict[str, Any]:
    campaign = Campaign.objects.only("attribution_days").get(pk=experiment.campaign_id)
    return {
        "experiment": experiment.pk,
        "campaign": str(experiment.campaign_id),
        "days": int(campaign.attribution_days),
        "until": until,
        "exposure": EventType.EXPOSURE,
        "open": EventType.OPEN,
        "click": EventType.CLICK,
        "purchase": EventType.PURCHASE,
        "tz": settings.TIME_ZONE,
    }


def _window_sql(until: datetime | None) -> str:
    """Events of the assignment's customer inside its attribution window (and before `until`)."""
    sql = (
        "e.customer_id = a.customer_id AND e.occurred_at >= a.assigned_at"
        " AND e.occurred_at < a.assigned_at + make_interval(days => %(days)s)"
        " AND e.type IN (%(exposure)s, %(open)s, %(click)s, %(purchase)s)"
    )
    return sql + (" AND e.occurred_at <= %(until)s" if until is not None else "")


def _assignments_sql(until: datetime | None) -> str:
    return "a.experiment_id = %(experiment)s" + (" AND a.assigned_at <= %(until)s" if until is not None else "")


def arm_outcomes(experiment: Experiment, until: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per arm key (every arm, in key order): assigned, exposed, opened, clicked, converted (customers) and
    revenue (float), attributed as the module docstring says. One aggregate query."""
    firsts = ", ".join(f"bool_or({cond}) AS {name}" for name, cond in _KIND_SQL.items())
    sql = f"""
        SELECT a.arm_id, COUNT(*) AS assigned,
               COUNT(*) FILTER (WHERE f.exposed), COUNT(*) FILTER (WHERE f.opened),
               COUNT(*) FILTER (WHERE f.clicked), COUNT(*) FILTER (WHERE f.converted),
               COALESCE(SUM(f.revenue), 0)
        FROM {Assignment._meta.db_table} a
        LEFT JOIN LATERAL (
            SELECT {firsts}, SUM(e.value) FILTER (WHERE {_KIND_SQL["converted"]}) AS revenue
            FROM {Event._meta.db_table} e WHERE {_window_sql(until)}
        ) f ON TRUE
        WHERE {_assignments_sql(until)}
        GROUP BY a.arm_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(experiment, until))
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    outcomes: dict[str, dict[str, Any]] = {}
    for arm in Arm.objects.filter(experiment=experiment).order_by("key"):
        assigned, exposed, opened, clicked, converted, revenue = rows.get(arm.pk, (0, 0, 0, 0, 0, 0))
        outcomes[arm.key] = {
            "arm_id": arm.pk,
            "assigned": assigned,
            "exposed": exposed,
            "opened": opened,
            "clicked": clicked,
            "converted": converted,
            "revenue": float(revenue),
        }
    return outcomes


def _num(value: float | None) -> float | None:
    """nan (undefined) becomes None, so the result is plain JSON."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ExperimentError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    return metric


def outcomes_over_time(experiment: Experiment, metric: str, until: datetime | None = None) -> dict[str, Any]:
    """Cumulative rate per arm per day (TIME_ZONE days) with Wilson intervals, for charts.

    {"metric", "days": [iso dates], "arms": [{"key", "is_control", "is_holdout", "points": [{"date",
    "assigned", "successes", "rate", "low", "high"}]}]}; a day's point counts everyone assigned by its end and
    their first success by its end. Rates are None before anyone is assigned. One aggregate query.
    """
    outcome = OUTCOME_OF_METRIC[_check_metric(metric)]
    sql = f"""
        WITH per AS (
            SELECT a.arm_id, a.assigned_at, f.first_at
            FROM {Assignment._meta.db_table} a
            LEFT JOIN LATERAL (
                SELECT MIN(e.occurred_at) AS first_at FROM {Event._meta.db_table} e
                WHERE {_window_sql(until)} AND {_KIND_SQL[outcome]}
            ) f ON TRUE
            WHERE {_assignments_sql(until)}
        )
        SELECT arm_id, day, SUM(assigned), SUM(successes) FROM (
            SELECT arm_id, (assigned_at AT TIME ZONE %(tz)s)::date AS day, 1 AS assigned, 0 AS successes FROM per
            UNION ALL
            SELECT arm_id, (first_at AT TIME ZONE %(tz)s)::date, 0, 1 FROM per WHERE first_at IS NOT NULL
        ) x GROUP BY arm_id, day ORDER BY day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(experiment, until))
        rows: list[tuple[int, date, int, int]] = cursor.fetchall()
    arms = list(Arm.objects.filter(experiment=experiment).order_by("key"))
    if not rows:
        return {"metric": metric, "days": [], "arms": [_chart_arm(arm, []) for arm in arms]}
    first, last = rows[0][1], rows[-1][1]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    daily: dict[tuple[int, date], tuple[int, int]] = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}
    series = []
    for arm in arms:
        assigned = successes = 0
        points = []
        for day in days:
            add_n, add_s = daily.get((arm.pk, day), (0, 0))
            assigned, successes = assigned + add_n, successes + add_s
            low, high = st.wilson_interval(successes, assigned)
            points.append(
                {
                    "date": day.isoformat(),
                    "assigned": assigned,
                    "successes": successes,
                    "rate": _num(st.rate(successes, assigned)),
                    "low": _num(low),
                    "high": _num(high),
                }
            )
        series.append(_chart_arm(arm, points))
    return {"metric": metric, "days": [d.isoformat() for d in days], "arms": series}


def _chart_arm(arm: Arm, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": arm.key, "is_control": arm.is_control, "is_holdout": arm.is_holdout, "points": points}


# --- analysis ------------------------------------------------------------------------------------------


def _srm(experiment: Experiment, arms: list[Arm], outcomes: dict[str, dict[str, Any]]) -> st.SRMResult:
    if experiment.allocation == Experiment.Allocation.THOMPSON:
        holdout = [arm for arm in arms if arm.is_holdout]
        if not holdout or experiment.holdout_weight <= 0:
            return st.SRMResult(math.nan, math.nan, False, [], "not tested: Thompson weights change over time")
        in_holdout = outcomes[holdout[0].key]["assigned"]
        total = sum(o["assigned"] for o in outcomes.values())
        result = st.sample_ratio_mismatch(
            [in_holdout, total - in_holdout], [experiment.holdout_weight, 1 - experiment.holdout_weight]
        )
        return st.SRMResult(
            result.chi2, result.p_value, result.flagged, result.expected, result.reason + " (holdout vs the rest)"
        )
    return st.sample_ratio_mismatch([outcomes[arm.key]["assigned"] for arm in arms], [arm.weight for arm in arms])


def _metric_control(arms: list[Arm], metric: str) -> tuple[list[Arm], Arm | None]:
    compared = [arm for arm in arms if not (metric in MESSAGE_ONLY_METRICS and arm.is_holdout)]
    control = next((arm for arm in compared if arm.is_control), None)
    if control is None and metric in MESSAGE_ONLY_METRICS and compared:
        control = min(compared, key=lambda a: a.key)
    return compared, control


def _analyse_metric(
    experiment: Experiment, arms: list[Arm], outcomes: dict[str, dict[str, Any]], metric: str, srm: st.SRMResult
) -> dict[str, Any]:
    outcome = OUTCOME_OF_METRIC[metric]
    compared, control = _metric_control(arms, metric)
    counts = {
        arm.key: st.ArmCounts(arm.key, outcomes[arm.key][outcome], outcomes[arm.key]["assigned"]) for arm in compared
    }
    ctl = counts[control.key] if control else None
    probs, bayes_method = st.prob_best([(c.successes, c.trials) for c in counts.values()], seed=experiment.pk)
    p_best = dict(zip(counts, probs, strict=True))
    comparisons = {key: st.compare(c, ctl) for key, c in counts.items() if ctl is not None and key != ctl.key}
    if not compared:
        verdict = st.Verdict(None, "no arm received a message (holdout only)")
    else:
        verdict = st.decide_winner(
            list(counts.values()),
            control.key if control else None,
            alpha=experiment.alpha,
            minimum_sample=experiment.minimum_sample,
            srm_flagged=srm.flagged,
            p_values={key: c.p_value for key, c in comparisons.items()},
        )
    baseline = st.rate(ctl.successes, ctl.trials) if ctl is not None else math.nan
    comparisons_count = max(1, len(comparisons))
    required = st.sample_size_per_arm(
        baseline, experiment.minimum_detectable_effect, experiment.alpha / comparisons_count, experiment.power
    )
    required_n = None if math.isnan(required) else math.ceil(required)
    rows = []
    for arm in compared:
        c = counts[arm.key]
        low, high = st.wilson_interval(c.successes, c.trials)
        row: dict[str, Any] = {
            "key": arm.key,
            "arm_id": arm.pk,
            "variant_id": arm.variant_id,
            "is_control": control is not None and arm.pk == control.pk,
            "is_holdout": arm.is_holdout,
            "weight": arm.weight,
            "n": c.trials,
            "successes": c.successes,
            "rate": _num(st.rate(c.successes, c.trials)),
            "ci": [_num(low), _num(high)],
            "prob_best": p_best[arm.key],
            "still_needed": None if required_n is None else max(0, required_n - c.trials),
        }
        comparison = comparisons.get(arm.key)
        row.update(
            {
                "lift_abs": _num(comparison.lift_abs) if comparison else None,
                "lift_abs_ci": [_num(comparison.lift_abs_low), _num(comparison.lift_abs_high)] if comparison else None,
                "lift_rel": _num(comparison.lift_rel) if comparison else None,
                "lift_rel_ci": [_num(comparison.lift_rel_low), _num(comparison.lift_rel_high)] if comparison else None,
                "z": _num(comparison.z) if comparison else None,
                "p_value": _num(comparison.p_value) if comparison else None,
                "p_adjusted": _num(verdict.adjusted_p.get(arm.key)) if comparison else None,
                "prob_beat_control": comparison.prob_beats_control if comparison else None,
            }
        )
        if metric == "conversion":
            revenue = outcomes[arm.key]["revenue"]
            row["revenue"] = revenue
            row["revenue_per_customer"] = revenue / c.trials if c.trials else None
        rows.append(row)
    return {
        "metric": metric,
        "control": control.key if control else None,
        "excluded": [arm.key for arm in arms if arm not in compared],
        "arms": rows,
        "bayes_method": bayes_method,
        "sample_size": {
            "baseline": _num(baseline),
            "mde": experiment.minimum_detectable_effect,
            "alpha_per_comparison": experiment.alpha / comparisons_count,
            "power": experiment.power,
            "per_arm": required_n,
        },
        "verdict": {"winner": verdict.winner, "reason": verdict.reason},
    }


def analyse(experiment: Experiment, metric: str | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Everything the admin and the API show, as plain JSON (undefined numbers are None).

    {"experiment", "campaign", settings..., "correction": "holm", "outcomes": {arm key: counts},
    "srm": {"chi2", "p_value", "flagged", "reason"}, "metrics": {metric: {"control", "excluded", "arms": [{key,
    n, successes, rate, ci, lift_abs(+_ci), lift_rel(+_ci), z, p_value, p_adjusted, prob_beat_control,
    prob_best, still_needed, revenue...}], "bayes_method", "sample_size", "verdict"}}, "winner": the stored
    winner}. `metric` limits "metrics" to one of open, click, conversion; all three by default.
    """
    metrics = [_check_metric(metric)] if metric else list(METRICS)
    arms = list(Arm.objects.filter(experiment=experiment).order_by("key"))
    outcomes = arm_outcomes(experiment, until)
    srm = _srm(experiment, arms, outcomes)
    winner = Arm.objects.filter(pk=experiment.winner_id).first() if experiment.winner_id else None
    return {
        "experiment": experiment.pk,
        "campaign": experiment.campaign_id,
        "allocation": experiment.allocation,
        "primary_metric": experiment.primary_metric,
        "alpha": experiment.alpha,
        "minimum_sample": experiment.minimum_sample,
        "correction": "holm",
        "outcomes": outcomes,
        "srm": {"chi2": _num(srm.chi2), "p_value": _num(srm.p_value), "flagged": srm.flagged, "reason": srm.reason},
        "metrics": {m: _analyse_metric(experiment, arms, outcomes, m, srm) for m in metrics},
        "winner": {
            "key": winner.key if winner else None,
            "overridden_by": experiment.winner_overridden_by_id,
            "note": experiment.winner_note,
        },
    }


def choose_winner(experiment: Experiment, until: datetime | None = None) -> dict[str, Any]:
    """Apply the winner rule to the primary metric and store its answer, unless a manager overrode it.

    Returns {"winner": key or None, "reason", "overridden": bool, "stored": the stored winner's key}.
    """
    analysis = analyse(experiment, experiment.primary_metric, until)
    verdict = analysis["metrics"][experiment.primary_metric]["verdict"]
    overridden = experiment.winner_overridden_by_id is not None
    if not overridden:
        arm = Arm.objects.filter(experiment=experiment, key=verdict["winner"]).first() if verdict["winner"] else None
        if experiment.winner_id != (arm.pk if arm else None):
            experiment.winner = arm
            experiment.save(update_fields=["winner"])
    stored = experiment.winner.key if experiment.winner is not None else None
    return {"winner": verdict["winner"], "reason": verdict["reason"], "overridden": overridden, "stored": stored}


def check_can_override(user: Any) -> None:
    """Campaign managers (permission campaigns.change_experiment) may choose the winner."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied("only campaign managers may choose an experiment's winner")


def override_winner(experiment: Experiment, arm: Arm | None, user: Any, note: str = "") -> Experiment:
    """Record a manager's choice of winner (with who and why); the rule never overwrites it.

    `arm=None` withdraws the override and hands the choice back to the rule (`choose_winner`).
    """
    check_can_override(user)
    if arm is not None and arm.experiment_id != experiment.pk:
        raise ExperimentError(f"arm {arm.key} belongs to another experiment")
    if arm is None:
        experiment.winner = None
        experiment.winner_overridden_by = None
        experiment.winner_note = note
        experiment.save(update_fields=["winner", "winner_overridden_by", "winner_note"])
        choose_winner(experiment)
        return experiment
    experiment.winner = arm
    experiment.winner_overridden_by = user
    experiment.winner_note = note
    experiment.save(update_fields=["winner", "winner_overridden_by", "winner_note"])
    return experiment


# --- Thompson sampling ---------------------------------------------------------------------------------


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


@shared_task(name="campaigns.reweight_experiments")
def reweight_experiments_task() -> int:
    """Beat entry point: re-weight the Thompson experiments that are due (cheap when none is)."""
    return reweight_due()
