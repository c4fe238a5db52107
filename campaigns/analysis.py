"""An experiment's analysis and its winner rule: what the admin's results page and the API show.

`analyse` compares the arms on open, click and conversion (rates with Wilson intervals, lifts against the
control, p-values with Holm's correction, Bayesian probabilities, the sample size still needed) and checks
the split (SRM). Open and click are compared among message arms only (the holdout gets no message, so its
open rate is zero by construction); their control is the control arm, or the first message arm by key
when the control is the holdout. SRM: fixed allocation tests assigned counts against the arms' weights
(so weights should not be edited mid-experiment); Thompson allocation changes variant weights over time,
so only the holdout's share (fixed) is tested against the rest.

`choose_winner` applies the rule of `experiment_stats.decide_winner` to the primary metric and stores its
answer, unless a manager overrode it (`campaigns.actions.do_override_winner`): the rule never overwrites
a manager's choice.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from . import experiment_stats as st
from .experiments import METRICS
from .models import Arm, Experiment
from .outcomes import OUTCOME_OF_METRIC, arm_outcomes, check_metric, json_number

MESSAGE_ONLY_METRICS = {"open", "click"}  # the holdout is left out of their comparisons


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
            "rate": json_number(st.rate(c.successes, c.trials)),
            "ci": [json_number(low), json_number(high)],
            "prob_best": p_best[arm.key],
            "still_needed": None if required_n is None else max(0, required_n - c.trials),
        }
        comparison = comparisons.get(arm.key)
        row.update(_comparison_row(comparison, verdict.adjusted_p.get(arm.key)))
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
            "baseline": json_number(baseline),
            "mde": experiment.minimum_detectable_effect,
            "alpha_per_comparison": experiment.alpha / comparisons_count,
            "power": experiment.power,
            "per_arm": required_n,
        },
        "verdict": {"winner": verdict.winner, "reason": verdict.reason},
    }


def _comparison_row(comparison: st.Comparison | None, adjusted_p: float | None) -> dict[str, Any]:
    """The lift columns of an arm's row: None for the control (compared with nothing)."""
    if comparison is None:
        keys = ("lift_abs", "lift_abs_ci", "lift_rel", "lift_rel_ci", "z", "p_value", "p_adjusted", "prob_beat_control")
        return dict.fromkeys(keys)
    return {
        "lift_abs": json_number(comparison.lift_abs),
        "lift_abs_ci": [json_number(comparison.lift_abs_low), json_number(comparison.lift_abs_high)],
        "lift_rel": json_number(comparison.lift_rel),
        "lift_rel_ci": [json_number(comparison.lift_rel_low), json_number(comparison.lift_rel_high)],
        "z": json_number(comparison.z),
        "p_value": json_number(comparison.p_value),
        "p_adjusted": json_number(adjusted_p),
        "prob_beat_control": comparison.prob_beats_control,
    }


def analyse(experiment: Experiment, metric: str | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Everything the admin and the API show, as plain JSON (undefined numbers are None).

    {"experiment", "campaign", settings..., "correction": "holm", "outcomes": {arm key: counts},
    "srm": {"chi2", "p_value", "flagged", "reason"}, "metrics": {metric: {"control", "excluded", "arms": [{key,
    n, successes, rate, ci, lift_abs(+_ci), lift_rel(+_ci), z, p_value, p_adjusted, prob_beat_control,
    prob_best, still_needed, revenue...}], "bayes_method", "sample_size", "verdict"}}, "winner": the stored
    winner}. `metric` limits "metrics" to one of open, click, conversion; all three by default.
    """
    metrics = [check_metric(metric)] if metric else list(METRICS)
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
        "srm": {
            "chi2": json_number(srm.chi2), "p_value": json_number(srm.p_value), "flagged": srm.flagged,
            "reason": srm.reason,
        },
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

