"""Discount depth per segment (`campaigns.discounts`) on simulated experiments with known true effects,
written through the real models: the suggestion finds the right depth when effects are large and samples
big, says "not enough evidence" with a sample size when they are small, its intervals cover the truth,
and arms that cannot answer the question get a clear reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.test import override_settings

from campaigns.discounts import (
    DiscountError,
    difference_interval,
    discount_suggestions,
    sample_size_for_difference,
    set_discount,
)
from campaigns.models import Arm, Campaign, Experiment, Variant

from .builders import campaign, variant
from .discount_simulation import DEPTHS, TRUTH, simulate, true_incremental

pytestmark = pytest.mark.django_db


def _segment(result: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in result["segments"] if s["key"] == key)


def test_large_experiment_suggests_the_true_best_depth_per_segment() -> None:
    sim = simulate(per_arm=700)
    result = discount_suggestions(sim.experiment)
    assert result["reference"] == "holdout (no message)"
    assert [d["label"] for d in result["depths"]] == ["holdout (no message)", "10%", "20%", "30%"]
    lapsed, loyal = _segment(result, "lifecycle-lapsed"), _segment(result, "lifecycle-loyal")
    assert lapsed["n"] == loyal["n"] == 4 * 700
    # lapsed customers: 20% is best (true incremental margin 1.6 per customer; 30% gives 0.7, 10% 0.7)
    assert lapsed["suggestion"]["status"] == "suggested"
    assert lapsed["suggestion"]["discount_percent"] == 20
    assert lapsed["suggestion"]["text"].startswith("Offer 20%")
    # loyal customers buy anyway: every discount only gives margin away
    assert loyal["suggestion"]["status"] == "suggested"
    assert loyal["suggestion"]["depth"] == "holdout (no message)"
    assert loyal["suggestion"]["discount_percent"] is None
    assert loyal["suggestion"]["text"].startswith("No discount pays for itself here")
    rows = {r["depth"]: r for r in lapsed["rows"]}
    assert rows["holdout (no message)"]["is_reference"] and rows["holdout (no message)"]["incremental_margin"] == 0
    assert rows["20%"]["n"] == 700 and rows["20%"]["conversion_ci"][0] < 0.20 < rows["20%"]["conversion_ci"][1]
    # every product has its cost, so no revenue falls back on the default margin
    assert result["gross_margin"]["revenue_with_product_cost"] == pytest.approx(1.0)


def test_intervals_cover_the_true_incremental_margin() -> None:
    """9 intervals at 95% (each stage and everyone, three depths): about 0.45 misses are expected, three or
    more happen about 1% of the time; the pure simulation below checks the nominal coverage itself."""
    sim = simulate(per_arm=700)
    result = discount_suggestions(sim.experiment)
    covered = total = 0
    for key in ("lifecycle-loyal", "lifecycle-lapsed", "all"):
        rows = {r["discount_percent"]: r for r in _segment(result, key)["rows"] if not r["is_reference"]}
        for i, depth in enumerate(DEPTHS[1:], start=1):
            stages = list(TRUTH) if key == "all" else [key.removeprefix("lifecycle-")]
            truth = sum(true_incremental(stage, i) for stage in stages) / len(stages)  # equal-sized stages
            low, high = rows[depth]["incremental_margin_ci"]
            covered += low <= truth <= high
            total += 1
    assert total == 9 and covered >= 7


def test_difference_interval_coverage_on_skewed_margins() -> None:
    """Many zeros and a heavy tail (as margins per customer are): the Welch interval's coverage over 2,000
    simulated experiments of 300 + 300 customers stays near 95%."""
    rng = np.random.default_rng(11)
    truth = 0.12 * 20 * 0.2 - 0.05 * 20 * 0.4  # arm: 12% buy, margin 0.2; reference: 5% buy, margin 0.4
    covered = 0
    reps = 2000
    for _ in range(reps):
        a = (rng.random(300) < 0.12) * rng.lognormal(np.log(20) - 0.5, 1.0, 300) * 0.2
        b = (rng.random(300) < 0.05) * rng.lognormal(np.log(20) - 0.5, 1.0, 300) * 0.4
        _, low, high = difference_interval(a, b, 0.95)
        covered += low <= truth <= high
    assert 0.92 <= covered / reps <= 0.975


def test_small_experiment_says_not_enough_evidence_with_the_sample_needed() -> None:
    sim = simulate(per_arm=25, seed=3)
    result = discount_suggestions(sim.experiment)
    lapsed = _segment(result, "lifecycle-lapsed")
    suggestion = lapsed["suggestion"]
    assert suggestion["status"] == "not_enough_evidence"
    assert suggestion["discount_percent"] is None
    needed = suggestion["sample_needed_per_arm"]
    assert isinstance(needed, int) and needed > 25
    assert suggestion["text"].startswith("Not enough evidence:")
    assert f"about {needed:,} customers per arm are needed" in suggestion["text"]
    assert "this segment has 25 at" in suggestion["text"]


def test_sample_size_matches_the_normal_formula() -> None:
    # (1.96 + 0.8416)^2 * (16 + 4) / 1^2 = 156.98
    assert sample_size_for_difference(16.0, 4.0, 1.0, 0.05, 0.8) == pytest.approx(156.98, abs=0.01)
    assert np.isnan(sample_size_for_difference(16.0, 4.0, 0.0))


def test_margin_subtracts_the_discount_from_the_price_not_from_the_cost() -> None:
    """A 30% discount at a 40% gross margin leaves 10% of list revenue: the margin per customer is
    revenue x 0.7 - cost, not revenue x 0.7 x 0.4."""
    sim = simulate(per_arm=20, seed=5, stages=("loyal",))
    result = discount_suggestions(sim.experiment)
    row = next(r for r in _segment(result, "all")["rows"] if r["discount_percent"] == 30)
    assert row["margin_per_customer"] == pytest.approx(row["revenue_per_customer"] * 0.1, rel=1e-9)


@override_settings(DEFAULT_GROSS_MARGIN_PERCENT=25)
def test_products_without_a_cost_use_the_default_margin() -> None:
    sim = simulate(per_arm=20, seed=5, stages=("loyal",))
    sim.item.attributes = {}
    sim.item.save()
    result = discount_suggestions(sim.experiment)
    assert result["gross_margin"]["revenue_with_product_cost"] == 0
    row = next(r for r in _segment(result, "all")["rows"] if r["discount_percent"] == 10)
    assert row["margin_per_customer"] == pytest.approx(row["revenue_per_customer"] * (0.9 - 0.75), rel=1e-9)


# --- inputs that cannot answer the question ------------------------------------------------------------


def _experiment(*discounts: float | None, holdout: bool = True) -> Experiment:
    camp = campaign(status=Campaign.Status.RUNNING)
    exp = Experiment.objects.create(campaign=camp, holdout_weight=0.2 if holdout else 0)
    if holdout:
        Arm.objects.create(experiment=exp, key="holdout", weight=0.2, is_control=True)
    for percent in discounts:
        v = variant(camp, status=Variant.Status.APPROVED)
        Arm.objects.create(
            experiment=exp, key=v.label, variant=v,
            discount_percent=None if percent is None else Decimal(str(percent)),
        )
    return exp


@pytest.mark.parametrize(
    ("discounts", "holdout", "reason"),
    [
        ((), True, "the experiment has 1 arm(s) (holdout)"),
        ((10,), False, "the experiment has 1 arm(s) (A)"),
        ((None, None), True, "no arm has a discount set"),
        ((10, 10), False, "every arm offers the same discount (10%) and there is no holdout"),
        ((10, 20), False, "no reference to measure the discounts against: the arms offer 10%, 20%"),
        ((0, 0), True, "no arm offers a discount above 0%"),
    ],
)
def test_arms_that_cannot_answer_get_a_clear_reason(
    discounts: tuple[float | None, ...], holdout: bool, reason: str
) -> None:
    with pytest.raises(DiscountError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        discount_suggestions(_experiment(*discounts, holdout=holdout))


def test_a_zero_percent_message_arm_is_the_reference_without_a_holdout() -> None:
    exp = _experiment(0, 15, holdout=False)
    result = discount_suggestions(exp)
    assert result["reference"] == "0%"
    assert _segment(result, "all")["suggestion"]["status"] == "no_data"  # nobody assigned yet


def test_arms_without_a_discount_are_left_out_with_a_note() -> None:
    result = discount_suggestions(_experiment(10, None))
    assert [d["label"] for d in result["depths"]] == ["holdout (no message)", "10%"]
    assert result["notes"] == ["left out, no discount set: B (set discount_percent on the experiment page)"]


def test_set_discount_validates_the_range_and_the_holdout() -> None:
    exp = _experiment(None)
    holdout, arm = exp.arms.get(key="holdout"), exp.arms.get(key="A")
    assert set_discount(arm, 12.5).discount_percent == Decimal("12.5")
    for bad in (-1, 91, "lots", float("nan")):
        with pytest.raises(DiscountError, match=r"arm A: discount_percent="):
            set_discount(arm, bad)  # type: ignore[arg-type]
    with pytest.raises(DiscountError, match="arm holdout is the holdout"):
        set_discount(holdout, 10)
    arm.refresh_from_db()
    assert arm.discount_percent == Decimal("12.5")  # nothing half-written
