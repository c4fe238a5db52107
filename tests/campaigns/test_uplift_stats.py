"""The uplift maths: scikit-uplift's Qini curve and coefficient against values worked out by hand, the top
slices, the sample needed, and the simulated experiment whose true uplift per customer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from campaigns import experiment_stats as st
from campaigns import uplift_stats as us
from evaluation import uplift as simulation

# ranked by predicted uplift: treated converter, treated non-converter, control converter, control
# non-converter, treated converter, control non-converter
Y = np.array([1, 0, 1, 0, 1, 0])
T = np.array([1, 1, 0, 0, 1, 0])
U = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_matches_the_hand_computed_points() -> None:
    # q(k) = treated conversions - control conversions x n_treated / n_control among the top k (0 while no control)
    points = us.qini_points(Y, U, T, n_points=7)
    assert [p["model"] for p in points] == [0.0, 1.0, 1.0, -1.0, 0.0, 0.5, 1.0]
    assert [p["random"] for p in points] == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1], abs=1e-3)


def test_qini_coefficient_matches_the_hand_computed_areas() -> None:
    # model area (trapezoids) 2.0; perfect curve (0,0) (2,2) (5,2) (6,1): 9.5; random line to (6,1): 3
    report = us.evaluate(Y, U, T)
    assert report["qini_coefficient"] == pytest.approx((2.0 - 3.0) / (9.5 - 3.0))
    assert report["n_treated"] == 3 and report["n_control"] == 3
    assert report["treated_conversions"] == 2 and report["control_conversions"] == 1
    assert math.isfinite(report["auuc"])


def test_a_perfect_ranking_has_qini_one() -> None:
    perfect = Y * T - Y * (1 - T)
    assert us.evaluate(Y, perfect.astype(float), T)["qini_coefficient"] == pytest.approx(1.0)


def test_top_slices_are_observed_rates_with_newcombe_intervals() -> None:
    (half,) = us.top_slices(Y, U, T, fractions=(0.5,))
    assert (half["n"], half["treated"], half["control"]) == (3, 2, 1)
    assert half["treated_rate"] == 0.5 and half["control_rate"] == 1.0 and half["uplift"] == -0.5
    assert (half["low"], half["high"]) == pytest.approx(st.newcombe_interval(1, 2, 1, 1))
    (top,) = us.top_slices(Y, U, T, fractions=(0.1,))  # one customer, treated: no control rate
    assert top["control"] == 0 and top["uplift"] is None and top["low"] is None


def test_sample_needed_scales_the_two_proportion_size_to_the_judged_slice() -> None:
    per_arm = st.sample_size_per_arm(0.05, 0.02)
    assert us.sample_needed(0.05, 0.02) == math.ceil(per_arm / 0.2 / 0.3)
    assert us.sample_needed(math.nan, 0.02) is None


def test_too_few_rows_or_conversions_are_refused_with_the_group() -> None:
    treated = np.array([1] * 100 + [0] * 100)
    with pytest.raises(us.UpliftDataError, match="control group has 0 conversions"):
        us.check_trainable(treated, np.array([1, 0] * 50 + [0] * 100))
    with pytest.raises(us.UpliftDataError, match="treated group has 10 customers"):
        us.check_trainable(np.array([1] * 10 + [0] * 100), np.array([1, 0] * 55))


def test_split_is_stratified_and_fixed() -> None:
    rng = np.random.default_rng(1)
    t, y = rng.integers(0, 2, 1000), (rng.random(1000) < 0.1).astype(int)
    train, test = us.split(t, y)
    again = us.split(t, y)
    assert np.array_equal(test, again[1]) and len(test) == 300 and not set(train) & set(test)
    assert abs(t[test].mean() - t.mean()) < 0.01 and abs(y[test].mean() - y.mean()) < 0.01


def test_simulated_top_20_percent_captures_far_more_true_uplift_than_random() -> None:
    """Sure things, persuadables, sleeping dogs and lost causes decided by features; the true uplift of each
    customer is known, so the share of incremental conversions the top 20% captures can be measured."""
    result = simulation.run(n=12_000, seed=0, draws=300)
    captured = result["captured_share_top20"]
    assert captured["random"] == 0.2
    assert captured["low"] > 0.4, captured  # random targeting captures 20%
    assert captured["low"] <= captured["share"] <= captured["high"]
    assert result["kinds_in_top20"]["sleeping_dog"] < 0.05 * sum(result["kinds_in_top20"].values())
    assert result["qini_coefficient"] > 0
    assert result["top"][1]["uplift"] > 0.05 and result["top"][1]["low"] > 0
