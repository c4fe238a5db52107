"""Experiment statistics: pure maths on counts (numpy/scipy only, no Django), so the simulation in
`evaluation/experiments.py` and the tests exercise exactly what the admin and the API show.

Conventions, so callers never divide by zero:
- a rate, interval, lift or p-value that the data cannot define is `nan` (an arm with no one assigned,
  a relative lift against a control with no successes); callers that emit JSON turn `nan` into null;
- counts are validated: negative numbers or successes > trials raise `ValueError` naming the values.

Choices (stated because they change the numbers):
- confidence intervals: Wilson score for a rate; Newcombe's hybrid score interval (his method 10, built
  from the two Wilson intervals) for the absolute difference; Katz's log interval for the ratio, shown
  as a relative lift (ratio - 1);
- p-value: two-sided two-proportion z-test with the pooled variance (as statsmodels' `proportions_ztest`);
- Bayesian: independent Beta(1, 1) priors; P(arm beats control) is exact for two arms (Evan Miller's
  closed form, summed in log space); P(best) is exact for two arms and seeded Monte Carlo for more;
- winner rule: Holm's step-down correction across the arms compared with the control (it controls the
  family-wise error like Bonferroni and is never less powerful). The rule only crowns an arm that is
  *better* than the control, so with no true difference its false-positive rate is about alpha / 2 per
  comparison (the other half of the two-sided alpha is spent on "significantly worse", which is reported
  but wins nothing);
- sample size: the classic two-sided normal approximation for two independent proportions (pooled
  variance under H0, unpooled under H1, no continuity correction), as statsmodels'
  `samplesize_proportions_2indep_onetail(alternative="two-sided")`.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import betaln, logsumexp

NAN = float("nan")
SRM_THRESHOLD = 0.001  # sample-ratio mismatch is flagged below this p-value (a broken split, not bad luck)
MONTE_CARLO_DRAWS = 100_000  # P(best) for 3+ arms: standard error <= 0.0016 per probability
EXACT_LOOP_LIMIT = 2_000_000  # the exact P(beat) sums one term per success; beyond this, a normal approximation


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"counts must satisfy 0 <= successes <= trials, got successes={successes}, trials={trials}")


def rate(successes: int, trials: int) -> float:
    """successes / trials, or nan when no one is in the arm."""
    _check_counts(successes, trials)
    return successes / trials if trials else NAN


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (nan, nan) when trials == 0.

    Unlike the normal (Wald) interval it stays inside [0, 1] and is not zero-width at 0 or all successes.
    """
    _check_counts(successes, trials)
    if trials == 0:
        return NAN, NAN
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # exact bounds at the edges (rounding would otherwise leave 1 - 1e-16 above a rate of 1)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    successes: int, trials: int, control_successes: int, control_trials: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval for rate(arm) - rate(control) (Newcombe's hybrid score); (nan, nan) if either arm is empty."""
    if trials == 0 or control_trials == 0:
        _check_counts(successes, trials)
        _check_counts(control_successes, control_trials)
        return NAN, NAN
    p1, p0 = successes / trials, control_successes / control_trials
    l1, u1 = wilson_interval(successes, trials, confidence)
    l0, u0 = wilson_interval(control_successes, control_trials, confidence)
    d = p1 - p0
    return d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def relative_lift_interval(
    successes: int, trials: int, control_successes: int, control_trials: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(relative lift, low, high) with Katz's log interval for the rate ratio, minus 1.

    The lift is nan when the control rate is 0 (nothing to be relative to); the interval is nan when either
    arm has no successes (log of zero).
    """
    _check_counts(successes, trials)
    _check_counts(control_successes, control_trials)
    if trials == 0 or control_trials == 0 or control_successes == 0:
        return NAN, NAN, NAN
    ratio = (successes / trials) / (control_successes / control_trials)
    if successes == 0:
        return ratio - 1, NAN, NAN
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    se = math.sqrt(1 / successes - 1 / trials + 1 / control_successes - 1 / control_trials)
    return ratio - 1, ratio * math.exp(-z * se) - 1, ratio * math.exp(z * se) - 1


def two_proportion_ztest(
    successes: int, trials: int, control_successes: int, control_trials: int
) -> tuple[float, float]:
    """(z, two-sided p-value) of the pooled two-proportion z-test, arm minus control.

    Either arm empty: (nan, nan). Both rates 0 or both 1 (no variance, identical rates): (0.0, 1.0), the
    answer of an exact test, rather than statsmodels' 0/0 nan, so the winner rule reads it as "no evidence".
    """
    _check_counts(successes, trials)
    _check_counts(control_successes, control_trials)
    if trials == 0 or control_trials == 0:
        return NAN, NAN
    pooled = (successes + control_successes) / (trials + control_trials)
    variance = pooled * (1 - pooled) * (1 / trials + 1 / control_trials)
    if variance == 0:
        return 0.0, 1.0
    z = (successes / trials - control_successes / control_trials) / math.sqrt(variance)
    return z, float(2 * stats.norm.sf(abs(z)))


def prob_beats(successes: int, trials: int, control_successes: int, control_trials: int) -> float:
    """P(p_arm > p_control) under Beta(1 + s, 1 + n - s) posteriors, exact (closed form).

    Evan Miller's sum has one term per success of the arm it loops over; it loops over whichever arm has
    fewer (by symmetry, P(A > B) = 1 - P(B > A) for continuous posteriors). Beyond EXACT_LOOP_LIMIT
    terms a normal approximation of the two posteriors is used (its error is then far below 1e-4).
    An empty arm has the prior as posterior, which is well defined (0.5 against another empty arm).
    """
    _check_counts(successes, trials)
    _check_counts(control_successes, control_trials)
    a_arm, b_arm = 1 + successes, 1 + trials - successes
    a_ctl, b_ctl = 1 + control_successes, 1 + control_trials - control_successes
    if min(a_arm, a_ctl) > EXACT_LOOP_LIMIT:
        mean_arm, mean_ctl = a_arm / (a_arm + b_arm), a_ctl / (a_ctl + b_ctl)
        var_arm = a_arm * b_arm / ((a_arm + b_arm) ** 2 * (a_arm + b_arm + 1))
        var_ctl = a_ctl * b_ctl / ((a_ctl + b_ctl) ** 2 * (a_ctl + b_ctl + 1))
        return float(stats.norm.cdf((mean_arm - mean_ctl) / math.sqrt(var_arm + var_ctl)))
    if a_arm <= a_ctl:
        return _prob_b_beats_a(a_ctl, b_ctl, a_arm, b_arm)
    return 1.0 - _prob_b_beats_a(a_arm, b_arm, a_ctl, b_ctl)


def _prob_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """P(X_B > X_A), X ~ Beta: sum_{i<a_b} B(a_a+i, b_a+b_b) / ((b_b+i) B(1+i, b_b) B(a_a, b_a))."""
    i = np.arange(a_b, dtype=np.float64)
    terms = betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - betaln(1 + i, b_b) - betaln(a_a, b_a)
    return float(min(1.0, max(0.0, math.exp(logsumexp(terms)))))


def prob_best(
    counts: Sequence[tuple[int, int]], *, seed: int = 0, draws: int = MONTE_CARLO_DRAWS
) -> tuple[list[float], str]:
    """P(each arm has the highest rate) under Beta(1,1) priors, and the method used.

    One arm: [1.0]. Two arms: exact (`prob_beats`). More: `draws` seeded Monte Carlo draws per arm, so the
    same data and seed always give the same numbers. Returns (probabilities in input order, method).
    """
    for s, n in counts:
        _check_counts(s, n)
    if not counts:
        return [], "none"
    if len(counts) == 1:
        return [1.0], "exact"
    if len(counts) == 2:
        (s1, n1), (s0, n0) = counts
        p = prob_beats(s1, n1, s0, n0)
        return [p, 1.0 - p], "exact"
    rng = np.random.default_rng(seed)
    samples = np.column_stack([rng.beta(1 + s, 1 + n - s, size=draws) for s, n in counts])
    wins = np.bincount(np.argmax(samples, axis=1), minlength=len(counts))
    return [float(w) / draws for w in wins], f"monte carlo ({draws} draws, seed {seed})"


@dataclass(frozen=True)
class SRMResult:
    """Chi-square goodness of fit of assigned counts against the configured weights."""

    chi2: float
    p_value: float
    flagged: bool
    expected: list[float]
    reason: str


def sample_ratio_mismatch(
    observed: Sequence[int], weights: Sequence[float], threshold: float = SRM_THRESHOLD
) -> SRMResult:
    """Flag a broken split: p < `threshold` (0.001 by default, so ordinary luck almost never trips it).

    Arms with weight 0 are left out (nothing is expected of them). Fewer than two weighted arms or no
    assignments: nothing to test (p nan, not flagged, reason says why).
    """
    if len(observed) != len(weights):
        raise ValueError(f"{len(observed)} observed counts but {len(weights)} weights")
    if any(w < 0 or not math.isfinite(w) for w in weights) or any(o < 0 for o in observed):
        raise ValueError(f"weights and counts must be non-negative, got {list(weights)} and {list(observed)}")
    pairs = [(o, w) for o, w in zip(observed, weights, strict=True) if w > 0]
    total = sum(o for o, _ in pairs)
    if len(pairs) < 2 or total == 0:
        why = "fewer than two arms with a weight" if len(pairs) < 2 else "no assignments yet"
        return SRMResult(NAN, NAN, False, [], f"not tested: {why}")
    weight_sum = sum(w for _, w in pairs)
    expected = [total * w / weight_sum for _, w in pairs]
    chi2, p = stats.chisquare([o for o, _ in pairs], expected)
    flagged = bool(p < threshold)
    reason = (
        f"sample ratio mismatch: assigned counts differ from the weights (chi-square p = {p:.2g} < {threshold})"
        if flagged
        else f"assigned counts match the weights (chi-square p = {p:.2g})"
    )
    return SRMResult(float(chi2), float(p), flagged, expected, reason)


def sample_size_per_arm(baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Customers per arm to detect an absolute lift `mde` over `baseline` (two-sided test at `alpha`).

    n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{power} sqrt(p0 q0 + p1 q1))^2 / mde^2, p1 = baseline + mde (or
    baseline - mde when that would pass 1: the test is two-sided). Returns nan when baseline is nan; raises
    ValueError for parameters outside (0, 1). Not rounded: callers ceil it.
    """
    for name, value in (("mde", mde), ("alpha", alpha), ("power", power)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    if math.isnan(baseline):
        return NAN
    if not 0 <= baseline <= 1:
        raise ValueError(f"baseline rate must be between 0 and 1, got {baseline}")
    p1 = baseline + mde if baseline + mde <= 1 else baseline - mde
    if p1 < 0:
        return NAN
    pbar = (baseline + p1) / 2
    z_a = stats.norm.ppf(1 - alpha / 2)
    z_b = stats.norm.ppf(power)
    root = z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(baseline * (1 - baseline) + p1 * (1 - p1))
    return float(root**2 / mde**2)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (nan stays nan and does not count as a test)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(indexed)
    adjusted = [NAN] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class ArmCounts:
    key: str
    successes: int
    trials: int


@dataclass(frozen=True)
class Comparison:
    """One arm against the control."""

    lift_abs: float
    lift_abs_low: float
    lift_abs_high: float
    lift_rel: float
    lift_rel_low: float
    lift_rel_high: float
    z: float
    p_value: float
    prob_beats_control: float


def compare(arm: ArmCounts, control: ArmCounts, confidence: float = 0.95) -> Comparison:
    s, n, s0, n0 = arm.successes, arm.trials, control.successes, control.trials
    lift = rate(s, n) - rate(s0, n0)
    low, high = newcombe_interval(s, n, s0, n0, confidence)
    rel, rel_low, rel_high = relative_lift_interval(s, n, s0, n0, confidence)
    z, p = two_proportion_ztest(s, n, s0, n0)
    return Comparison(lift, low, high, rel, rel_low, rel_high, z, p, prob_beats(s, n, s0, n0))


@dataclass(frozen=True)
class Verdict:
    """The winner rule's answer: `winner` is an arm key, or None with the reason."""

    winner: str | None
    reason: str
    adjusted_p: dict[str, float] = field(default_factory=dict)
    correction: str = "holm"


def decide_winner(
    arms: Sequence[ArmCounts],
    control: str | None,
    *,
    alpha: float,
    minimum_sample: int,
    srm_flagged: bool,
    p_values: Mapping[str, float] | None = None,
) -> Verdict:
    """An arm wins when, against the control: its Holm-adjusted p-value < alpha and its lift is positive,
    every arm (control included) has at least `minimum_sample` customers, and SRM is not flagged. When
    several arms qualify, the one with the highest rate wins. Otherwise no winner, with the first reason
    that applies. `p_values` (arm key -> raw p) saves recomputing them when the caller has them.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    by_key = {arm.key: arm for arm in arms}
    if control is None or control not in by_key:
        return Verdict(None, "no control arm: mark one arm as the control")
    others = [arm for arm in arms if arm.key != control]
    if not others:
        return Verdict(None, "only the control arm: nothing to compare")
    if srm_flagged:
        return Verdict(None, "sample ratio mismatch: the split is broken, so the results cannot be trusted")
    ctl = by_key[control]
    raw = [
        p_values[arm.key]
        if p_values is not None and arm.key in p_values
        else two_proportion_ztest(arm.successes, arm.trials, ctl.successes, ctl.trials)[1]
        for arm in others
    ]
    adjusted = dict(zip((arm.key for arm in others), holm_adjust(raw), strict=True))
    small = [arm for arm in arms if arm.trials < minimum_sample]
    if small:
        listing = ", ".join(f"{arm.key} has {arm.trials}" for arm in small)
        return Verdict(None, f"no winner yet: fewer than {minimum_sample} customers per arm ({listing})", adjusted)
    control_rate = rate(ctl.successes, ctl.trials)
    better = [arm for arm in others if adjusted[arm.key] < alpha and rate(arm.successes, arm.trials) > control_rate]
    if not better:
        worse = [arm.key for arm in others if adjusted[arm.key] < alpha]
        detail = f" ({', '.join(worse)} significantly worse than the control)" if worse else ""
        return Verdict(
            None, f"no winner yet: no arm beats the control {control} at alpha {alpha} (Holm){detail}", adjusted
        )
    best = max(better, key=lambda arm: (rate(arm.successes, arm.trials), -adjusted[arm.key]))
    return Verdict(
        best.key,
        f"{best.key} beats the control {control}: Holm-adjusted p = {adjusted[best.key]:.3g} < {alpha}",
        adjusted,
    )


# --- assignment maths (used by campaigns.experiments and the simulation) ---------------------------------


def stable_unit(experiment_id: int, customer_id: int) -> float:
    """A uniform number in [0, 1) from sha256("experiment:customer"): the same in every process and run
    (unlike Python's salted hash()), independent across experiments."""
    digest = hashlib.sha256(f"{experiment_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def pick_index(unit: float, weights: Sequence[float]) -> int:
    """Index of the slot of `unit` on the cumulative normalised weights (weights > 0 somewhere)."""
    total = sum(weights)
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")
    cumulative: list[float] = []
    running = 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    index = bisect_right(cumulative, unit)
    # rounding may leave the last bound a hair below 1: fall back to the last arm with a weight
    if index >= len(weights):
        index = max(i for i, w in enumerate(weights) if w > 0)
    while weights[index] == 0:  # a zero-weight slot has zero width; bisect can only land on it at a bound
        index += 1
    return index
