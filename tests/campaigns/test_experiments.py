"""Experiments on the real database: arms, stable assignment, Thompson re-weighting, attribution windows,
analysis on edge cases, SRM, the winner rule and the manager's override."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from campaigns import actions, tasks, thompson
from campaigns import experiment_stats as st
from campaigns import experiments as ex
from campaigns.analysis import analyse, choose_winner
from campaigns.models import Arm, Assignment, Campaign, Experiment, Variant
from campaigns.outcomes import arm_outcomes, outcomes_over_time
from customers.models import Event, EventType
from tests.customers.builders import customer, customers, event

from .builders import campaign, variant

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # when the experiments below start
APPROVED = Variant.Status.APPROVED


def ids(n: int) -> list[int]:
    """The ids of `n` new customers (assignment works on ids)."""
    return [c.pk for c in customers(n)]


def experiment_with(labels: str = "AB", **settings: Any) -> Experiment:
    running = campaign(status=Campaign.Status.RUNNING)
    for label in labels:
        variant(running, label=label, status=APPROVED)
    return ex.create_experiment(running, **settings)


def populate(experiment: Experiment, data: dict[str, tuple[int, int]], at: Any = T0) -> None:
    """Put n customers in each arm directly (bypassing the hash) and give `conversions` of them a purchase
    one day after assignment."""
    arms = {arm.key: arm for arm in experiment.arms.all()}
    events = []
    for key, (n, conversions) in data.items():
        members = ids(n)
        Assignment.objects.bulk_create(
            [Assignment(experiment=experiment, arm=arms[key], customer_id=c, assigned_at=at) for c in members]
        )
        events += [
            Event(
                external_id=f"buy-{experiment.pk}-{c}",
                customer_id=c,
                type=EventType.PURCHASE,
                value=Decimal("20.00"),
                occurred_at=at + timedelta(days=1),
            )
            for c in members[:conversions]
        ]
    Event.objects.bulk_create(events)
    if experiment.started_at is None:
        Experiment.objects.filter(pk=experiment.pk).update(started_at=at)
        experiment.started_at = at


# --- arms ----------------------------------------------------------------------------------------------


def test_arms_are_approved_variants_plus_holdout_which_is_the_control() -> None:
    camp = campaign()
    variant(camp, label="A", status=APPROVED)
    variant(camp, label="B", status=APPROVED)
    variant(camp, label="C", status=Variant.Status.IN_REVIEW)
    variant(camp, label="D", status=APPROVED, customer=customer())  # per-customer copy: never an arm
    experiment = ex.create_experiment(camp, holdout_weight=0.1)
    arms = {arm.key: arm for arm in experiment.arms.all()}
    assert set(arms) == {"A", "B", "holdout"}
    assert arms["holdout"].is_control and arms["holdout"].is_holdout
    assert not arms["A"].is_control
    assert [arms[k].weight for k in ("A", "B", "holdout")] == pytest.approx([0.45, 0.45, 0.1])
    assert ex.ensure_arms(experiment) and experiment.arms.count() == 3  # idempotent

    # a variant approved later gets an arm (a clashing label gets a unique key) and weights are re-split
    late = variant(camp, label="A", status=APPROVED)
    keys = {arm.key: arm.weight for arm in ex.ensure_arms(experiment)}
    assert keys == pytest.approx({"A": 0.3, "B": 0.3, f"A-{late.pk}": 0.3, "holdout": 0.1})
    # a variant rejected afterwards keeps its arm (customers stay) but gets no new customers
    Variant.objects.filter(pk=late.pk).update(status=Variant.Status.REJECTED)
    assert {a.key: a.weight for a in ex.ensure_arms(experiment)}[f"A-{late.pk}"] == 0.0

    ex.set_control(experiment, arms["B"])
    assert list(experiment.arms.filter(is_control=True).values_list("key", flat=True)) == ["B"]


def test_without_holdout_the_first_arm_is_the_control() -> None:
    experiment = experiment_with("BA", holdout_weight=0)
    arms = list(experiment.arms.order_by("key"))
    assert [(a.key, a.is_control, a.weight) for a in arms] == [("A", True, 0.5), ("B", False, 0.5)]


def test_create_experiment_rejects_bad_settings() -> None:
    camp = campaign()
    for bad in ({"alpha": 0}, {"holdout_weight": 1.0}, {"power": 1.2}, {"primary_metric": "revenue"}, {"x": 1}):
        with pytest.raises(ex.ExperimentError):
            ex.create_experiment(camp, **bad)
    experiment = ex.create_experiment(camp, alpha=0.01)
    assert ex.create_experiment(camp, minimum_sample=50).pk == experiment.pk
    experiment.refresh_from_db()
    assert (experiment.alpha, experiment.minimum_sample) == (0.01, 50)


# --- assignment ----------------------------------------------------------------------------------------


def test_assignment_is_stable_and_follows_the_weights() -> None:
    experiment = experiment_with("AB", holdout_weight=0.1)
    everyone = ids(10_000)
    first = ex.assign(experiment, everyone)
    assert len(first) == 10_000 and Assignment.objects.filter(experiment=experiment).count() == 10_000
    shares = {key: sum(1 for arm in first.values() if arm.key == key) / 10_000 for key in ("A", "B", "holdout")}
    # binomial standard error at n = 10,000 is at most 0.005: 4 of them
    assert shares == pytest.approx({"A": 0.45, "B": 0.45, "holdout": 0.1}, abs=0.02)
    # the arm is the pure function of (experiment, customer) that any other process computes
    arms = list(experiment.arms.order_by("key"))
    for c in everyone[:200]:
        assert first[c] == arms[st.pick_index(st.stable_unit(experiment.pk, c), [a.weight for a in arms])]

    # new weights move no one already assigned, even when assign() is called again for them
    Arm.objects.filter(experiment=experiment, key="A").update(weight=0.0)
    again = ex.assign(experiment, list(reversed(everyone[:3000])))
    assert all(again[c].pk == first[c].pk for c in everyone[:3000])
    newcomers = ids(300)
    assert {arm.key for arm in ex.assign(experiment, newcomers).values()} <= {"B", "holdout"}
    assert Assignment.objects.filter(experiment=experiment).count() == 10_300
    experiment.refresh_from_db()
    assert experiment.started_at is not None


def test_assign_rejects_unknown_customers_and_arms_without_weight() -> None:
    experiment = experiment_with("A", holdout_weight=0)
    with pytest.raises(ex.ExperimentError, match="unknown customer ids"):
        ex.assign(experiment, [987_654_321])
    assert not Assignment.objects.filter(experiment=experiment).exists()
    Arm.objects.filter(experiment=experiment).update(weight=0)
    with pytest.raises(ex.ExperimentError, match="no arm with a weight"):
        ex.assign(experiment, ids(1))


# --- attribution ---------------------------------------------------------------------------------------


def test_attribution_window_and_campaign_tags() -> None:
    experiment = experiment_with("A", holdout_weight=0)
    tag = {"campaign": experiment.campaign.pk}  # attribution_days = 7
    other = {"campaign": campaign().pk}
    inside, before, after, untagged = customers(4)
    ex.assign(experiment, [c.pk for c in (inside, before, after, untagged)], now=T0)
    day = timedelta(days=1)
    event(inside, EventType.EXPOSURE, occurred_at=T0 + timedelta(minutes=5), attributes=tag)
    event(inside, EventType.OPEN, occurred_at=T0 + day, attributes=tag)
    event(inside, EventType.CLICK, occurred_at=T0 + day, attributes=tag)
    event(inside, EventType.PURCHASE, occurred_at=T0 + 2 * day, value="30.00")
    event(inside, EventType.PURCHASE, occurred_at=T0 + 3 * day, value="12.50")  # converted once, revenue twice
    event(before, EventType.PURCHASE, occurred_at=T0 - day, value="99.00")  # before assignment
    event(before, EventType.OPEN, occurred_at=T0 - day, attributes=tag)
    event(after, EventType.PURCHASE, occurred_at=T0 + 7 * day + timedelta(seconds=1), value="99.00")  # too late
    event(after, EventType.CLICK, occurred_at=T0 + 8 * day, attributes=tag)
    event(untagged, EventType.OPEN, occurred_at=T0 + day)  # an open of some other mail
    event(untagged, EventType.CLICK, occurred_at=T0 + day, attributes=other)  # a click on another campaign
    outcome = arm_outcomes(experiment)["A"]
    assert {k: outcome[k] for k in ("assigned", "exposed", "opened", "clicked", "converted")} == {
        "assigned": 4,
        "exposed": 1,
        "opened": 1,
        "clicked": 1,
        "converted": 1,
    }
    assert outcome["revenue"] == pytest.approx(42.5)
    cut = arm_outcomes(experiment, until=T0 + day + timedelta(hours=1))["A"]
    assert (cut["opened"], cut["converted"], cut["revenue"]) == (1, 0, 0.0)
    assert arm_outcomes(experiment, until=T0 - day)["A"]["assigned"] == 0


def test_outcomes_over_time_are_cumulative_with_intervals() -> None:
    experiment = experiment_with("A", holdout_weight=0)
    first, second = customers(2)
    ex.assign(experiment, [first.pk], now=T0)
    ex.assign(experiment, [second.pk], now=T0 + timedelta(days=1))
    event(first, EventType.PURCHASE, occurred_at=T0 + timedelta(days=2), value="5")
    chart = outcomes_over_time(experiment, "conversion")
    assert chart["days"] == [(T0 + timedelta(days=i)).date().isoformat() for i in range(3)]
    points = chart["arms"][0]["points"]
    assert [(p["assigned"], p["successes"]) for p in points] == [(1, 0), (2, 0), (2, 1)]
    assert points[2]["rate"] == 0.5 and points[2]["low"] < 0.5 < points[2]["high"]
    assert points[0]["low"] == 0.0
    with pytest.raises(ex.ExperimentError):
        outcomes_over_time(experiment, "revenue")
    empty = outcomes_over_time(experiment_with("A"), "open")
    assert empty["days"] == [] and empty["arms"][0]["points"] == []


# --- analysis ------------------------------------------------------------------------------------------


def _json(analysis: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(analysis, allow_nan=False))  # plain JSON: no NaN leaks out


def test_analysis_with_zero_conversions() -> None:
    experiment = experiment_with("AB", holdout_weight=0.1, minimum_sample=10)
    populate(experiment, {"A": (45, 0), "B": (45, 0), "holdout": (10, 0)})
    analysis = _json(analyse(experiment))
    conversion = analysis["metrics"]["conversion"]
    rows = {row["key"]: row for row in conversion["arms"]}
    assert rows["A"]["rate"] == 0.0 and rows["A"]["ci"][0] == 0.0 and rows["A"]["ci"][1] > 0
    assert rows["A"]["p_value"] == 1.0 and rows["A"]["lift_abs"] == 0.0
    assert rows["A"]["lift_rel"] is None  # relative to a zero control rate: undefined
    assert rows["A"]["prob_beat_control"] == pytest.approx(st.prob_beats(0, 45, 0, 10))
    assert conversion["verdict"]["winner"] is None and "no arm beats" in conversion["verdict"]["reason"]
    assert conversion["sample_size"]["per_arm"] > 0 and rows["A"]["still_needed"] > 0
    # open and click leave the holdout out; their control is the first message arm
    opens = analysis["metrics"]["open"]
    assert opens["control"] == "A" and opens["excluded"] == ["holdout"]
    assert not analysis["srm"]["flagged"]


def test_analysis_with_an_empty_arm() -> None:
    experiment = experiment_with("AB", holdout_weight=0, minimum_sample=10)
    populate(experiment, {"A": (40, 4)})
    analysis = _json(analyse(experiment, "conversion"))
    assert list(analysis["metrics"]) == ["conversion"]
    rows = {row["key"]: row for row in analysis["metrics"]["conversion"]["arms"]}
    assert rows["B"]["n"] == 0 and rows["B"]["rate"] is None and rows["B"]["ci"] == [None, None]
    assert rows["B"]["p_value"] is None and rows["B"]["lift_abs"] is None
    assert rows["B"]["prob_beat_control"] == pytest.approx(st.prob_beats(0, 0, 4, 40))
    verdict = analysis["metrics"]["conversion"]["verdict"]
    # an arm with half the weight and nobody in it is itself a broken split
    assert analysis["srm"]["flagged"]
    assert verdict["winner"] is None and "sample ratio mismatch" in verdict["reason"]
    with pytest.raises(ex.ExperimentError):
        analyse(experiment, "revenue")


def test_analysis_of_a_holdout_only_experiment() -> None:
    experiment = ex.create_experiment(campaign(), holdout_weight=0.2)
    populate(experiment, {"holdout": (30, 3)})
    analysis = _json(analyse(experiment))
    assert "only the control" in analysis["metrics"]["conversion"]["verdict"]["reason"]
    assert analysis["metrics"]["open"]["verdict"] == {
        "winner": None,
        "reason": "no arm received a message (holdout only)",
    }
    assert analysis["metrics"]["open"]["arms"] == []
    assert "not tested" in analysis["srm"]["reason"]


def test_sample_ratio_mismatch_blocks_the_winner() -> None:
    experiment = experiment_with("AB", holdout_weight=0, minimum_sample=100)
    populate(experiment, {"A": (700, 35), "B": (300, 60)})  # 50/50 weights, 70/30 split; B converts 4x
    analysis = analyse(experiment)
    assert analysis["srm"]["flagged"] and analysis["srm"]["p_value"] < 0.001
    verdict = analysis["metrics"]["conversion"]["verdict"]
    assert verdict["winner"] is None and "sample ratio mismatch" in verdict["reason"]


def test_thompson_srm_tests_only_the_holdout_share() -> None:
    experiment = experiment_with("AB", holdout_weight=0.1, allocation=Experiment.Allocation.THOMPSON)
    populate(experiment, {"A": (800, 10), "B": (100, 1), "holdout": (100, 1)})  # uneven arms are fine here
    assert not analyse(experiment)["srm"]["flagged"]
    populate(experiment, {"holdout": (400, 1)})
    srm = analyse(experiment)["srm"]
    assert srm["flagged"] and "holdout vs the rest" in srm["reason"]


def _winning_experiment() -> Experiment:
    experiment = experiment_with("AB", holdout_weight=0.1, minimum_sample=100)
    populate(experiment, {"A": (900, 45), "B": (900, 110), "holdout": (200, 8)})
    return experiment


def test_winner_rule_and_manager_override(manager: User, analyst: User) -> None:
    experiment = _winning_experiment()
    analysis = _json(analyse(experiment))
    rows = {row["key"]: row for row in analysis["metrics"]["conversion"]["arms"]}
    assert rows["holdout"]["is_control"] and rows["holdout"]["lift_abs"] is None
    assert rows["B"]["lift_abs"] == pytest.approx(110 / 900 - 8 / 200)
    assert rows["B"]["p_adjusted"] < 0.05 and rows["B"]["prob_beat_control"] > 0.99
    assert rows["B"]["prob_best"] > rows["A"]["prob_best"]
    assert rows["B"]["revenue"] == pytest.approx(110 * 20.0)
    assert analysis["metrics"]["conversion"]["bayes_method"].startswith("monte carlo")

    decision = choose_winner(experiment)
    assert decision["winner"] == "B" and decision["stored"] == "B" and not decision["overridden"]
    experiment.refresh_from_db()
    assert experiment.winner is not None and experiment.winner.key == "B"

    arm_a = experiment.arms.get(key="A")
    with pytest.raises(PermissionDenied):
        actions.do_override_winner(experiment, arm_a.pk, analyst, "no")
    other = experiment_with("A").arms.first()
    assert other is not None
    with pytest.raises(ex.ExperimentError, match="another experiment"):
        actions.do_override_winner(experiment, other.pk, manager, "wrong arm")
    actions.do_override_winner(experiment, arm_a.pk, manager, "A fits the brand better")
    decision = choose_winner(experiment)  # the rule still says B, but keeps the manager's choice
    assert decision == {"winner": "B", "reason": decision["reason"], "overridden": True, "stored": "A"}
    experiment.refresh_from_db()
    assert (experiment.winner_overridden_by, experiment.winner_note) == (manager, "A fits the brand better")
    assert analyse(experiment, "conversion")["winner"] == {
        "key": "A",
        "overridden_by": manager.pk,
        "note": "A fits the brand better",
    }
    actions.do_override_winner(experiment, None, manager, "back to the rule")
    experiment.refresh_from_db()
    assert experiment.winner is not None and experiment.winner.key == "B" and experiment.winner_overridden_by is None


def test_no_winner_below_minimum_sample() -> None:
    experiment = experiment_with("AB", holdout_weight=0, minimum_sample=500)
    populate(experiment, {"A": (300, 10), "B": (300, 60)})
    decision = choose_winner(experiment)
    assert decision["winner"] is None and "fewer than 500" in decision["reason"]
    experiment.refresh_from_db()
    assert experiment.winner is None


# --- Thompson sampling ---------------------------------------------------------------------------------


def test_thompson_reweights_on_schedule_and_never_moves_old_customers() -> None:
    experiment = experiment_with(
        "ABC", holdout_weight=0.1, allocation=Experiment.Allocation.THOMPSON, reweight_hours=24
    )
    populate(experiment, {"A": (300, 15), "B": (300, 45), "C": (300, 14), "holdout": (100, 5)})
    before = dict(Assignment.objects.filter(experiment=experiment).values_list("customer_id", "arm_id"))
    assert thompson.reweight(experiment, T0 + timedelta(hours=23)) is None  # not due yet
    weights = thompson.reweight(experiment, T0 + timedelta(hours=25))
    assert weights is not None
    assert weights["holdout"] == pytest.approx(0.1)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["B"] > 0.8 and min(weights["A"], weights["C"]) >= 0.9 * thompson.THOMPSON_FLOOR / 1.03
    stored = {arm.key: arm.weight for arm in experiment.arms.all()}
    assert stored == pytest.approx(weights)
    experiment.refresh_from_db()
    assert experiment.last_reweighted_at == T0 + timedelta(hours=25)
    assert thompson.reweight(experiment, T0 + timedelta(hours=30)) is None  # next one 24 h after the last
    # nobody moved; newcomers follow the new weights
    assert dict(Assignment.objects.filter(experiment=experiment).values_list("customer_id", "arm_id")) == before
    newcomers = ex.assign(experiment, ids(1000), now=T0 + timedelta(hours=26))
    share_b = sum(1 for arm in newcomers.values() if arm.key == "B") / 1000
    assert share_b == pytest.approx(weights["B"], abs=0.05)


def test_reweight_skips_fixed_and_unstarted_experiments_and_the_beat_task_runs() -> None:
    fixed = experiment_with("AB")
    populate(fixed, {"A": (10, 1), "B": (10, 2)})
    assert thompson.reweight(fixed, T0 + timedelta(days=5)) is None
    unstarted = experiment_with("AB", allocation=Experiment.Allocation.THOMPSON)
    assert thompson.reweight(unstarted, T0 + timedelta(days=5)) is None
    due = experiment_with("AB", allocation=Experiment.Allocation.THOMPSON, reweight_hours=1)
    populate(due, {"A": (50, 1), "B": (50, 9)})
    draft = experiment_with("AB", allocation=Experiment.Allocation.THOMPSON, reweight_hours=1)
    Campaign.objects.filter(pk=draft.campaign_id).update(status=Campaign.Status.DRAFT)
    populate(draft, {"A": (5, 1)})
    assert tasks.reweight_experiments_task.apply().get() == 1
    due.refresh_from_db()
    draft.refresh_from_db()
    assert due.last_reweighted_at is not None and draft.last_reweighted_at is None
    assert not math.isclose(due.arms.get(key="A").weight, due.arms.get(key="B").weight)


def test_attribution_and_analysis_are_set_based(django_assert_max_num_queries: Any) -> None:
    """The query count does not grow with the number of customers or events."""
    experiment = _winning_experiment()
    with django_assert_max_num_queries(3):
        arm_outcomes(experiment)
    with django_assert_max_num_queries(3):
        outcomes_over_time(experiment, "conversion")
    with django_assert_max_num_queries(5):
        analyse(experiment)
