"""Which hour of the day to message a customer, learnt from when they engage (opens, clicks, orders).

Empirical Bayes over the 24 hours: each customer's hours are a multinomial draw from their own hour
probabilities, which follow a Dirichlet prior centred on the shop's hourly curve (all customers pooled)
with a strength (pseudo-count) fitted to the data by maximising the Dirichlet-multinomial marginal
likelihood over customers. A customer with one event therefore stays near the shop curve; one with fifty
events at 20:00 gets 20:00. `thompson_hour` samples from the posterior instead of taking its mode, so
customers with little history are tried at several hours and their history grows where it says most.

Hours are read in UTC: `Customer` has a locale but no time zone, and `attributes` carry none reliably.
Counts for many customers come from one SQL query (`hour_counts`); the rest is numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection
from scipy.special import gammaln

from .models import Customer, Event, EventType

HOURS = 24
SEND_TIME_EVENTS: tuple[str, ...] = (EventType.OPEN, EventType.CLICK, EventType.PURCHASE)
"""Events whose hour says the customer was there: an order (all its lines) counts once."""

STRENGTH_GRID = np.logspace(-1, 4, 121)
"""Candidate prior strengths (pseudo-counts): from 0.1 (each customer alone) to 10,000 (the shop curve)."""

CURVE_SMOOTHING = 0.5  # pseudo-count per hour in the shop curve, so no hour has probability 0


@dataclass(frozen=True)
class Prior:
    """The Dirichlet prior: the shop's hour curve (sums to 1) times a strength (pseudo-count)."""

    curve: np.ndarray
    strength: float

    @property
    def alpha(self) -> np.ndarray:
        return self.curve * self.strength


def hour_counts(customer_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    """Per customer, engagement events per UTC hour (a length-24 int array), in one grouped query.

    Erased customers are left out; `customer_ids` limits the query to those customers.
    """
    types = list(SEND_TIME_EVENTS)
    where = ""
    params: list[Any] = [EventType.PURCHASE, types]
    if customer_ids is not None:
        where = "AND e.customer_id = ANY(%s)"
        params.append(list(customer_ids))
    sql = f"""
        SELECT e.customer_id, EXTRACT(hour FROM e.occurred_at AT TIME ZONE 'UTC')::int AS hour,
               COUNT(DISTINCT CASE WHEN e.type = %s AND e.order_id <> '' THEN 'o' || e.order_id
                                   ELSE 'e' || e.id::text END)
        FROM {Event._meta.db_table} e JOIN {Customer._meta.db_table} c ON c.id = e.customer_id
        WHERE e.type = ANY(%s) AND c.erased_at IS NULL {where}
        GROUP BY 1, 2
    """
    counts: dict[int, np.ndarray] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for customer_id, hour, n in cursor.fetchall():
            counts.setdefault(customer_id, np.zeros(HOURS, dtype=np.int64))[hour] = n
    return counts


def shop_curve(counts_matrix: np.ndarray) -> np.ndarray:
    """The shop's hour curve: all customers' counts pooled, lightly smoothed, summing to 1."""
    total = np.asarray(counts_matrix, dtype=np.float64).reshape(-1, HOURS).sum(axis=0) + CURVE_SMOOTHING
    return total / total.sum()


def marginal_log_likelihood(counts_matrix: np.ndarray, curve: np.ndarray, strength: float) -> float:
    """Dirichlet-multinomial log-likelihood of every customer's counts (without the multinomial
    coefficient, which does not depend on the prior)."""
    n = np.asarray(counts_matrix, dtype=np.float64)
    alpha = curve * strength
    hours = (gammaln(alpha + n) - gammaln(alpha)).sum(axis=1)
    per_customer = gammaln(strength) - gammaln(strength + n.sum(axis=1)) + hours
    return float(per_customer.sum())


def fit_prior_strength(counts_matrix: np.ndarray, curve: np.ndarray | None = None) -> Prior:
    """The prior whose strength maximises the marginal likelihood on a grid (customers without events
    carry no information and are left out). With no data, the shop curve at the grid's middle strength."""
    n = np.asarray(counts_matrix, dtype=np.float64).reshape(-1, HOURS)
    curve = shop_curve(n) if curve is None else curve
    n = n[n.sum(axis=1) > 0]
    if not len(n):
        return Prior(curve, float(STRENGTH_GRID[len(STRENGTH_GRID) // 2]))
    scores = [marginal_log_likelihood(n, curve, s) for s in STRENGTH_GRID]
    return Prior(curve, float(STRENGTH_GRID[int(np.argmax(scores))]))


def posterior(counts: np.ndarray, prior: Prior) -> np.ndarray:
    """The Dirichlet posterior's parameters over the 24 hours for one customer's counts."""
    return prior.alpha + np.asarray(counts, dtype=np.float64)


def predictive(posterior_alpha: np.ndarray) -> np.ndarray:
    """The probability of the customer's next engagement at each hour (the posterior mean)."""
    return posterior_alpha / posterior_alpha.sum()


def best_hour(posterior_alpha: np.ndarray) -> int:
    """The hour the customer most likely engages at (exploitation)."""
    return int(np.argmax(posterior_alpha))


def thompson_hour(posterior_alpha: np.ndarray, rng: np.random.Generator) -> int:
    """An hour by Thompson sampling: draw hour probabilities from the posterior, take the likeliest."""
    return int(np.argmax(rng.dirichlet(posterior_alpha)))
