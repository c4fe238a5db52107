"""Experiment statistics against statsmodels/scipy on the same numbers, edge cases, and a fast seeded
simulation of the winner rule (the full 1,000-run version is `python -m evaluation.experiments`)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from campaigns import experiment_stats as st
from evaluation.experiments import simulate

CASES = [(30, 1000, 20, 1000), (7, 120, 2, 95), (450, 500, 430, 510), (1, 40, 9, 41), (120, 4000, 100, 4100)]


@pytest.mark.parametrize("s, n", [(0, 10), (1, 10), (10, 10), (37, 250), (5000, 100000)])
def test_wilson_matches_statsmodels(s: int, n: int) -> None:
    low, high = st.wilson_interval(s, n)
    ref_low, ref_high = proportion_confint(s, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert 0.0 <= low <= s / n <= high <= 1.0


@pytest.mark.parametrize("s, n, s0, n0", CASES)
def test_newcombe_and_ratio_intervals_match_statsmodels(s: int, n: int, s0: int, n0: int) -> None:
    low, high = st.newcombe_interval(s, n, s0, n0)
    ref = confint_proportions_2indep(s, n, s0, n0, method="newcomb", compare="diff")
    assert (low, high) == pytest.approx(ref, abs=1e-10)
    rel, rel_low, rel_high = st.relative_lift_interval(s, n, s0, n0)
    ref_ratio = confint_proportions_2indep(s, n, s0, n0, method="log", compare="ratio")
    assert rel == pytest.approx((s / n) / (s0 / n0) - 1)
    assert (rel_low + 1, rel_high + 1) == pytest.approx(ref_ratio, rel=1e-10)


@pytest.mark.parametrize("s, n, s0, n0", CASES)
def test_ztest_matches_statsmodels(s: int, n: int, s0: int, n0: int) -> None:
    z, p = st.two_proportion_ztest(s, n, s0, n0)
    ref_z, ref_p = proportions_ztest([s, s0], [n, n0])
    assert z == pytest.approx(ref_z, rel=1e-10)
    assert p == pytest.approx(ref_p, rel=1e-10)


@pytest.mark.parametrize("s, n, s0, n0", [*CASES, (0, 50, 0, 60), (3, 3, 0, 4), (0, 0, 5, 10)])
def test_prob_beats_matches_numeric_integration(s: int, n: int, s0: int, n0: int) -> None:
    arm, ctl = sps.beta(1 + s, 1 + n - s), sps.beta(1 + s0, 1 + n0 - s0)
    reference, _ = integrate.quad(lambda x: arm.pdf(x) * ctl.cdf(x), 0, 1, limit=500, points=[s / n if n else 0.5])
    assert st.prob_beats(s, n, s0, n0) == pytest.approx(reference, abs=1e-6)
    # symmetric: one of the two is better with probability 1
    assert st.prob_beats(s, n, s0, n0) + st.prob_beats(s0, n0, s, n) == pytest.approx(1.0, abs=1e-9)


def test_prob_beats_large_counts_is_finite_and_close_to_normal() -> None:
    p = st.prob_beats(52_000, 1_000_000, 50_000, 1_000_000)
    assert 0.999 < p <= 1.0
    assert st.prob_beats(50_000, 1_000_000, 50_000, 1_000_000) == pytest.approx(0.5, abs=2e-3)


def test_prob_best_exact_for_two_and_monte_carlo_for_more() -> None:
    probs, method = st.prob_best([(30, 1000), (20, 1000)])
    assert method == "exact"
    assert probs[0] == pytest.approx(st.prob_beats(30, 1000, 20, 1000))
    counts = [(30, 1000), (20, 1000), (25, 1000)]
    probs, method = st.prob_best(counts, seed=7)
    assert method.startswith("monte carlo")
    assert sum(probs) == pytest.approx(1.0)
    assert probs == st.prob_best(counts, seed=7)[0]  # seeded: reproducible
    assert probs[0] > probs[2] > probs[1]
    # the Monte Carlo agrees with the exact answer where both apply (two arms, forced through the sampler)
    rng = np.random.default_rng(1)
    a, b = rng.beta(31, 971, 200_000), rng.beta(21, 981, 200_000)
    assert float(np.mean(a > b)) == pytest.approx(st.prob_beats(30, 1000, 20, 1000), abs=0.005)
    assert st.prob_best([(3, 10)]) == ([1.0], "exact")


def test_srm_matches_scipy_and_flags_a_broken_split() -> None:
    result = st.sample_ratio_mismatch([5050, 4950], [1, 1])
    ref = sps.chisquare([5050, 4950], [5000, 5000])
    assert result.p_value == pytest.approx(ref.pvalue)
    assert not result.flagged
    broken = st.sample_ratio_mismatch([5300, 4700], [0.5, 0.5])
    assert broken.flagged and broken.p_value < 0.001 and "mismatch" in broken.reason
    weighted = st.sample_ratio_mismatch([900, 4600, 4500], [0.1, 0.45, 0.45])
    assert not weighted.flagged and weighted.expected == pytest.approx([1000, 4500, 4500])
    assert st.sample_ratio_mismatch([0, 0], [1, 1]).reason == "not tested: no assignments yet"
    assert math.isnan(st.sample_ratio_mismatch([10], [1]).p_value)
    assert not st.sample_ratio_mismatch([500, 480, 7], [1, 1, 0]).flagged  # zero-weight arm left out
    with pytest.raises(ValueError):
        st.sample_ratio_mismatch([1, 2], [1])
    with pytest.raises(ValueError):
        st.sample_ratio_mismatch([1, 2], [1, -1])


@pytest.mark.parametrize(
    "baseline, mde, alpha, power", [(0.05, 0.02, 0.05, 0.8), (0.2, 0.05, 0.01, 0.9), (0.5, 0.1, 0.025, 0.8)]
)
def test_sample_size_matches_statsmodels(baseline: float, mde: float, alpha: float, power: float) -> None:
    ours = st.sample_size_per_arm(baseline, mde, alpha, power)
    ref = samplesize_proportions_2indep_onetail(mde, baseline, power, alpha=alpha, alternative="two-sided")
    assert ours == pytest.approx(ref, rel=2e-3)


def test_sample_size_edges() -> None:
    assert math.isnan(st.sample_size_per_arm(float("nan"), 0.02))
    assert st.sample_size_per_arm(0.99, 0.02) > 0  # p1 would pass 1: measured downwards
    assert st.sample_size_per_arm(0.0, 0.02) > 0
    for bad in ({"mde": 0.0}, {"alpha": 1.0}, {"power": 0.0}):
        with pytest.raises(ValueError):
            st.sample_size_per_arm(0.05, **{"mde": 0.02, **bad})
    with pytest.raises(ValueError):
        st.sample_size_per_arm(1.5, 0.02)


def test_holm_matches_statsmodels() -> None:
    raw = [0.01, 0.04, 0.03, 0.2]
    assert st.holm_adjust(raw) == pytest.approx(list(multipletests(raw, method="holm")[1]))
    adjusted = st.holm_adjust([0.01, float("nan"), 0.02])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)


def test_edge_cases_give_documented_values_not_errors() -> None:
    assert all(math.isnan(v) for v in st.wilson_interval(0, 0))
    assert math.isnan(st.rate(0, 0))
    assert all(math.isnan(v) for v in st.two_proportion_ztest(0, 0, 3, 10))
    assert st.two_proportion_ztest(0, 50, 0, 60) == (0.0, 1.0)  # zero conversions everywhere
    assert st.two_proportion_ztest(50, 50, 60, 60) == (0.0, 1.0)  # all converted
    assert st.wilson_interval(10, 10)[1] == 1.0 and st.wilson_interval(10, 10)[0] < 1.0
    rel = st.relative_lift_interval(3, 100, 0, 100)
    assert all(math.isnan(v) for v in rel)  # control rate 0: no relative lift
    rel = st.relative_lift_interval(0, 100, 4, 100)
    assert rel[0] == pytest.approx(-1.0) and math.isnan(rel[1])
    assert all(math.isnan(v) for v in st.newcombe_interval(3, 10, 0, 0))
    comparison = st.compare(st.ArmCounts("B", 0, 0), st.ArmCounts("A", 0, 0))
    assert math.isnan(comparison.lift_abs) and math.isnan(comparison.p_value)
    assert comparison.prob_beats_control == pytest.approx(0.5)
    for bad in ((-1, 10), (11, 10)):
        with pytest.raises(ValueError, match="successes"):
            st.wilson_interval(*bad)


def test_winner_rule() -> None:
    control, good, flat = st.ArmCounts("A", 100, 2000), st.ArmCounts("B", 160, 2000), st.ArmCounts("C", 104, 2000)
    verdict = st.decide_winner([control, good, flat], "A", alpha=0.05, minimum_sample=200, srm_flagged=False)
    assert verdict.winner == "B" and "Holm" in verdict.reason
    assert verdict.adjusted_p["B"] < 0.05 < verdict.adjusted_p["C"]

    def no_winner(**kwargs: object) -> str:
        args = {"arms": [control, good], "control": "A", "alpha": 0.05, "minimum_sample": 200, "srm_flagged": False}
        result = st.decide_winner(**{**args, **kwargs})  # type: ignore[arg-type]
        assert result.winner is None
        return result.reason

    assert "mismatch" in no_winner(srm_flagged=True)
    assert "fewer than 5000" in no_winner(minimum_sample=5000)
    assert "no control" in no_winner(control=None)
    assert "no control" in no_winner(control="Z")
    assert "only the control" in no_winner(arms=[control])
    worse = no_winner(arms=[st.ArmCounts("A", 160, 2000), st.ArmCounts("B", 100, 2000)])
    assert "no arm beats" in worse and "B significantly worse" in worse
    assert "no arm beats" in no_winner(arms=[control, flat])
    assert "no arm beats" in no_winner(arms=[st.ArmCounts("A", 0, 500), st.ArmCounts("B", 0, 500)])
    assert "fewer than 200" in no_winner(arms=[control, st.ArmCounts("B", 0, 0)])  # an empty arm
    with pytest.raises(ValueError):
        st.decide_winner([control, good], "A", alpha=0.0, minimum_sample=1, srm_flagged=False)


def test_stable_unit_is_the_same_in_another_process() -> None:
    here = [st.stable_unit(12, c) for c in range(5)]
    code = "from campaigns.experiment_stats import stable_unit; print([stable_unit(12, c) for c in range(5)])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"}
    )
    assert out.stdout.strip() == str(here)
    assert all(0 <= u < 1 for u in here) and len(set(here)) == 5
    assert st.stable_unit(13, 0) != st.stable_unit(12, 0)


def test_pick_index_follows_weights() -> None:
    units = [st.stable_unit(1, c) for c in range(20_000)]
    picks = np.bincount([st.pick_index(u, [0.1, 0.45, 0.0, 0.45]) for u in units], minlength=4)
    assert picks[2] == 0
    assert picks / picks.sum() == pytest.approx([0.1, 0.45, 0.0, 0.45], abs=0.01)
    assert st.pick_index(0.999999999, [1, 1, 0]) == 1
    with pytest.raises(ValueError):
        st.pick_index(0.5, [0, 0])


def test_fast_simulation_of_the_winner_rule() -> None:
    """200 seeded runs each: A/A false positives near alpha/2 (the rule only crowns better arms), power
    near the planned 0.8. Loose bounds: the binomial standard error at 200 runs is about 0.03."""
    result = simulate(runs=200, seed=5)
    by_name = {row["scenario"]: row for row in result["rows"]}
    aa = by_name["A/A, 2 arms"]
    assert aa["winner_rate"] <= 0.06
    assert by_name["A/A, 3 arms (Holm)"]["winner_rate"] <= 0.06
    assert 0.68 <= by_name["lift = MDE, 2 arms"]["winner_rate"] <= 0.92
    assert 0.65 <= by_name["lift = MDE, 3 arms (Holm)"]["winner_rate"] <= 0.92
