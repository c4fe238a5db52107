"""Buy-till-you-die models: a simulated BG/NBD + Gamma-Gamma population is recovered within its intervals, the
RFM summary is hand-checked on a real history, and the ranking metrics behave at their known points."""

from __future__ import annotations

import numpy as np
import pytest

from customers.predictions import NotEnoughHistory
from customers.predictions.btyd import BuyTillYouDie, rfm_at
from customers.predictions.evaluation import normalised_gini, spearman
from customers.predictions.simulation import Process, history_from_orders, simulate_orders

CUTOFF, HOLDOUT = 365.0, 90.0


@pytest.fixture(scope="module")
def simulated() -> tuple[Process, np.ndarray, np.ndarray, np.ndarray, int]:
    process, n = Process(), 3000
    cust, t, value = simulate_orders(n, process, start=0, first_by=270, end=CUTOFF + HOLDOUT, seed=1)
    return process, cust, t, value, n


def test_rfm_is_hand_checked() -> None:
    # customer 0: orders at 10 (5.0), 20 (7.0), 40 (9.0); customer 1: one order at 30; customer 2: none before 50
    cust, t, value = np.array([0, 0, 0, 1, 2]), np.array([10.0, 20.0, 40.0, 30.0, 60.0]), np.array(
        [5.0, 7.0, 9.0, 4.0, 3.0])
    rfm = rfm_at(history_from_orders(cust, t, value, 3, 100.0), 50.0)
    assert rfm.buyers.tolist() == [True, True, False]
    assert rfm.frequency[:2].tolist() == [2.0, 0.0]
    assert rfm.recency[:2].tolist() == [30.0, 0.0]
    assert rfm.T[:2].tolist() == [40.0, 20.0]
    assert rfm.monetary[0] == 8.0 and np.isnan(rfm.monetary[1])
    assert rfm.frequency[2] == 0 and np.isnan(rfm.recency[2]) and np.isnan(rfm.T[2])


@pytest.mark.slow
def test_simulated_population_is_recovered_within_its_intervals(simulated) -> None:
    process, cust, t, value, n = simulated
    rfm = rfm_at(history_from_orders(cust, t, value, n, CUTOFF + HOLDOUT), CUTOFF)
    model = BuyTillYouDie.fit(rfm)
    assert model.gamma_gamma
    for name, true in process.as_dict().items():
        low, high = model.intervals[name]
        assert low <= true <= high, f"{name}: true {true} outside [{low:.3f}, {high:.3f}] ({model.params[name]:.3f})"
    held = (t >= CUTOFF) & (t < CUTOFF + HOLDOUT)
    orders = np.bincount(cust[held], minlength=n)[rfm.buyers]
    revenue = np.bincount(cust[held], weights=value[held], minlength=n)[rfm.buyers]
    expected = model.expected_purchases(rfm, HOLDOUT)[rfm.buyers]
    assert np.nansum(expected) == pytest.approx(orders.sum(), rel=0.1)
    assert np.nanmean(model.p_purchase(rfm, HOLDOUT)[rfm.buyers]) == pytest.approx((orders > 0).mean(), abs=0.03)
    assert np.nansum(model.expected_value(rfm, HOLDOUT)) == pytest.approx(revenue.sum(), rel=0.15)
    # the expectation ranks who buys: better than chance by a wide margin
    assert normalised_gini(orders, expected) > 0.4
    alive = model.p_alive(rfm)
    assert np.all(alive[rfm.buyers & (rfm.frequency == 0)] == 1.0)
    assert np.isnan(alive[~rfm.buyers]).all() and np.isnan(model.expected_value(rfm, HOLDOUT)[~rfm.buyers]).all()


def test_too_few_repeat_buyers_is_not_enough_history() -> None:
    cust = np.arange(50)
    rfm = rfm_at(history_from_orders(cust, np.linspace(1, 40, 50), np.full(50, 10.0), 50, 100.0), 60.0)
    with pytest.raises(NotEnoughHistory, match="found 50 customers with an order, 0 of them with a repeat order"):
        BuyTillYouDie.fit(rfm)


def test_normalised_gini_and_spearman_at_known_points() -> None:
    actual = np.array([0.0, 0.0, 5.0, 0.0, 20.0, 1.0])
    assert normalised_gini(actual, actual) == pytest.approx(1.0)
    assert normalised_gini(actual, 2 * actual + 3) == pytest.approx(1.0)
    assert normalised_gini(actual, -actual) < 0
    # a constant prediction is a random order: 0, not the luck of the input order
    assert normalised_gini(actual, np.zeros(6)) == pytest.approx(0.0)
    assert np.isnan(normalised_gini(np.zeros(6), actual))
    assert spearman(actual, actual) == pytest.approx(1.0)
    assert np.isnan(spearman(actual, np.ones(6)))


def test_nobody_lapsed_is_a_degenerate_fit_not_a_crash() -> None:
    """Everyone buys every week up to the cutoff: BG/NBD's dropout cannot be estimated, and it says so."""
    n = 40
    cust = np.repeat(np.arange(n), 20)
    t = np.tile(np.arange(20) * 7.0, n) + np.repeat(np.arange(n) % 5, 20)
    rfm = rfm_at(history_from_orders(cust, t, np.full(len(cust), 10.0), n, 200.0), 140.0)
    with pytest.raises(NotEnoughHistory, match="BG/NBD: the fit on 40 customers with an order is degenerate"):
        BuyTillYouDie.fit(rfm)


@pytest.mark.slow
def test_the_served_model_is_stacked_with_bgnbd_and_ranks_at_least_as_well_as_the_booster(simulated) -> None:
    """On a history whose true process is BG/NBD, the booster alone ranks worse than BG/NBD; the stack fitted
    on the validation window must not: measured on the 30 days after a cutoff no fit has seen."""
    from sklearn.metrics import roc_auc_score

    from customers.predictions import TARGETS
    from customers.predictions.features import cached_features, matrix
    from customers.predictions.training import train_target

    _process, cust, t, value, n = simulated
    past = t < CUTOFF
    h = history_from_orders(cust[past], t[past], value[past], n, CUTOFF)
    served, metrics, _params = train_target(TARGETS["purchase_30d"], h, {})
    assert served.stack is not None and metrics["stack"]["coef"] == [round(c, 4) for c in served.stack.coef]
    seen, f = cached_features(h, CUTOFF, {})
    rows = np.flatnonzero(seen)
    X, recency = matrix(f, rows), f["recency_days"][rows]
    bought = np.bincount(cust[(t >= CUTOFF) & (t < CUTOFF + 30)], minlength=n)[rows] > 0
    stacked = served.predict(X, recency)
    alone = served.predict(X, recency, stacked=False)
    assert ((stacked >= 0) & (stacked <= 1)).all()
    assert roc_auc_score(bought, stacked) >= roc_auc_score(bought, alone) - 0.005
