"""Send time per customer: the fitted prior strength is the one that made the data, little history shrinks
to the shop curve, much history wins over it, Thompson sampling explores only where it is unsure, and the
grouped SQL counts are what the events say."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from customers import send_time
from customers.models import EventType
from customers.send_time import HOURS, Prior, best_hour, fit_prior_strength, posterior, shop_curve, thompson_hour
from tests.catalog.builders import product
from tests.customers.builders import customer, event, purchase

CURVE = np.array([1, .5, .3, .2, .2, .4, 1, 2, 3, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5, 6.5, 7, 6.5, 4.5, 2.5])
CURVE = CURVE / CURVE.sum()


def simulate(strength: float, customers: int, rng: np.random.Generator) -> np.ndarray:
    """Counts of customers whose hour probabilities are Dirichlet(strength * CURVE), 1 to 30 events each."""
    probabilities = rng.dirichlet(CURVE * strength, size=customers)
    events = rng.integers(1, 31, size=customers)
    return np.array([rng.multinomial(n, p) for n, p in zip(events, probabilities, strict=True)])


@pytest.mark.parametrize("strength", [3.0, 30.0])
def test_fitted_strength_recovers_the_true_concentration(strength: float) -> None:
    counts = simulate(strength, 2000, np.random.default_rng(7))
    prior = fit_prior_strength(counts)
    assert abs(np.log(prior.strength / strength)) < np.log(1.5), prior.strength
    assert np.abs(prior.curve - CURVE).max() < 0.01


def test_one_event_stays_near_the_shop_curve_fifty_at_20_get_20() -> None:
    prior = fit_prior_strength(simulate(30.0, 2000, np.random.default_rng(5)))  # a fitted prior, about 30
    one = np.zeros(HOURS)
    one[3] = 1  # a single event at 3 am, a quiet hour for the shop
    assert best_hour(posterior(one, prior)) == int(np.argmax(CURVE)) == 20
    morning = np.zeros(HOURS)
    morning[8] = 50
    assert best_hour(posterior(morning, prior)) == 8  # fifty events win over the shop's evening peak
    evening = np.zeros(HOURS)
    evening[20] = 50
    assert best_hour(posterior(evening, prior)) == 20
    shrunk = send_time.predictive(posterior(one, prior))
    assert shrunk[3] < 0.2 and np.abs(np.delete(shrunk - CURVE, 3)).max() < 0.02


def test_thompson_explores_little_history_and_exploits_much() -> None:
    rng = np.random.default_rng(1)
    prior = Prior(CURVE, 10.0)
    little = np.zeros(HOURS)
    little[9] = 1
    much = np.zeros(HOURS)
    much[20] = 50
    little_hours = Counter(thompson_hour(posterior(little, prior), rng) for _ in range(500))
    much_hours = Counter(thompson_hour(posterior(much, prior), rng) for _ in range(500))
    assert len(little_hours) >= 6
    assert much_hours[20] >= 495


@pytest.mark.django_db
def test_sql_counts_match_the_events() -> None:
    day = datetime(2025, 5, 1, tzinfo=UTC)
    a, b, erased = customer(), customer(), customer(erased_at=day)
    item = product()
    expected: dict[int, Counter[int]] = {a.id: Counter(), b.id: Counter()}
    rng = np.random.default_rng(3)
    for person in (a, b):
        for i in range(12):
            hour = int(rng.integers(0, 24))
            kind = (EventType.OPEN, EventType.CLICK)[i % 2]
            event(person, kind, occurred_at=day + timedelta(days=i, hours=hour, minutes=59))
            expected[person.id][hour] += 1
    for line in range(3):  # one order of three lines at 21:xx counts once
        purchase(a, item, order_id="o-1", occurred_at=day + timedelta(hours=21, minutes=line))
    expected[a.id][21] += 1
    purchase(b, item, occurred_at=day + timedelta(hours=6))  # a line without an order id counts alone
    expected[b.id][6] += 1
    event(a, EventType.VIEW, occurred_at=day + timedelta(hours=5))  # a view is not engagement with a message
    event(erased, EventType.OPEN, occurred_at=day)
    counts = send_time.hour_counts()
    assert set(counts) == {a.id, b.id}
    for person_id, hours in expected.items():
        assert counts[person_id].tolist() == [hours[h] for h in range(HOURS)]
    assert set(send_time.hour_counts([b.id])) == {b.id}
    assert shop_curve(np.stack(list(counts.values()))).sum() == pytest.approx(1.0)
