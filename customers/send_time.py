"""Which hour of the day to message a customer, learnt from when they engage (opens, clicks, orders).

Empirical Bayes over the 24 hours: each customer's hours are a multinomial draw from their own hour
probabilities, which follow a Dirichlet prior centred on the shop's hourly curve (all customers pooled)
with a strength (pseudo-count) fitted to the data by maximising the Dirichlet-multinomial marginal
likelihood over customers. A customer with one event therefore stays near the shop curve; one with fifty
events at 20:00 gets 20:00. `thompson_hour` samples from the posterior instead of taking its mode, so
customers with little history are tried at several hours and their history grows where it says most.

Hours are the customer's local hours when their time zone is known (`Customer.timezone`), UTC otherwise
(a zone PostgreSQL does not know is read as UTC too). The shop curve pools those hours, so for a customer
without history "the shop's best hour" is that hour on their own clock. `next_send_time` turns an hour back
into a moment. Counts for many customers come from one SQL query (`hour_counts`); the rest is numpy.

`shop_prior()` fits the prior on every customer's history and keeps it in the cache for PRIOR_CACHE_SECONDS
(the admin's customer page asks it on every view); a send fits it afresh (`shop_prior(refresh=True)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from scipy.special import gammaln

from .models import Customer, Event, EventType
from .time_zones import zone

HOURS = 24
SEND_TIME_EVENTS: tuple[str, ...] = (EventType.OPEN, EventType.CLICK, EventType.PURCHASE)
"""Events whose hour says the customer was there: an order (all its lines) counts once."""

STRENGTH_GRID = np.logspace(-1, 4, 121)
"""Candidate prior strengths (pseudo-counts): from 0.1 (each customer alone) to 10,000 (the shop curve)."""

CURVE_SMOOTHING = 0.5  # pseudo-count per hour in the shop curve, so no hour has probability 0
PRIOR_CACHE_KEY = "customers.send_time.prior"
PRIOR_CACHE_SECONDS = 900  # the shop curve moves slowly; one grouped query over all engagement per 15 minutes


@dataclass(frozen=True)
class Prior:
    """The Dirichlet prior: the shop's hour curve (sums to 1) times a strength (pseudo-count)."""

    curve: np.ndarray
    strength: float

    @property
    def alpha(self) -> np.ndarray:
        return self.curve * self.strength


def hour_counts(customer_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    """Per customer, engagement events per local hour (a length-24 int array; UTC when the customer's time
    zone is unknown), in one grouped query.

    Erased customers are left out; `customer_ids` limits the query to those customers.
    """
    types = list(SEND_TIME_EVENTS)
    where = ""
    params: list[Any] = [EventType.PURCHASE, types]
    if customer_ids is not None:
        where = "AND e.customer_id = ANY(%s)"
        params.append(list(customer_ids))
    # the customer's zone when PostgreSQL knows it (the field is validated against Python's zone data,
    # which may be newer than the server's), else UTC
    sql = f"""
        SELECT e.customer_id,
               EXTRACT(hour FROM e.occurred_at AT TIME ZONE COALESCE(z.name, 'UTC'))::int AS hour,
               COUNT(DISTINCT CASE WHEN e.type = %s AND e.order_id <> '' THEN 'o' || e.order_id
                                   ELSE 'e' || e.id::text END)
        FROM {Event._meta.db_table} e JOIN {Customer._meta.db_table} c ON c.id = e.customer_id
             LEFT JOIN (SELECT name FROM pg_timezone_names) z ON z.name = NULLIF(c.timezone, '')
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


def shop_prior(*, refresh: bool = False) -> Prior:
    """The prior fitted on every customer's history, from the cache unless `refresh` (or absent)."""
    cached = None if refresh else cache.get(PRIOR_CACHE_KEY)
    if cached is not None:
        return Prior(np.asarray(cached["curve"], dtype=np.float64), float(cached["strength"]))
    counts = hour_counts()
    matrix = np.stack(list(counts.values())) if counts else np.zeros((0, HOURS))
    prior = fit_prior_strength(matrix)
    cache.set(PRIOR_CACHE_KEY, {"curve": prior.curve.tolist(), "strength": prior.strength}, PRIOR_CACHE_SECONDS)
    return prior


@dataclass(frozen=True)
class SendHour:
    """A customer's preferred send hour, as the admin shows it."""

    hour: int  # on the customer's clock (UTC when their zone is unknown)
    zone: str  # their IANA zone, or "UTC"
    probability: float  # posterior mean probability that their next engagement falls in that hour
    engagements: int  # opens, clicks and orders it is estimated from
    from_shop_curve: bool  # no history: the shop's best hour

    def utc_hour(self, on: datetime | None = None) -> int:
        """The same hour in UTC on the day of `on` (today by default): it moves with daylight saving time."""
        moment = next_send_time(on or datetime.now(UTC), self.hour, zone(self.zone))
        return moment.astimezone(UTC).hour


def preferred_hour(customer: Customer, prior: Prior | None = None) -> SendHour:
    """The customer's best hour (the posterior's mode), with its probability and the history behind it."""
    prior = prior or shop_prior()
    counts = hour_counts([customer.pk]).get(customer.pk, np.zeros(HOURS, dtype=np.int64))
    alpha = posterior(counts, prior)
    hour = best_hour(alpha)
    return SendHour(
        hour=hour, zone=customer.timezone if zone(customer.timezone) is not UTC else "UTC",
        probability=float(predictive(alpha)[hour]), engagements=int(counts.sum()),
        from_shop_curve=not counts.any(),
    )


def next_send_time(start: datetime, hour: int, tz: tzinfo) -> datetime:
    """The first moment at or after `start` that falls in `hour` on the clock of `tz`, in UTC: `start` itself
    when that hour is under way, otherwise the next hour:00, less than 24 hours away (25 across the night the clocks go
    back; a day that skips the hour when they go forward gets the moment the clock jumps to)."""
    local = start.astimezone(tz)
    if local.hour == hour:
        return start.astimezone(UTC)
    for days in (0, 1, 2):
        day = local.date() + timedelta(days=days)
        candidate = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
        if candidate > start:
            return candidate
    raise AssertionError("unreachable: an hour of the day recurs within two days")  # pragma: no cover


def send_times(
    customer_ids: Iterable[int], start: datetime, rng: np.random.Generator, prior: Prior | None = None
) -> dict[int, datetime]:
    """When to send to each customer within 24 hours of `start`: the next occurrence of an hour drawn by
    Thompson sampling from their posterior, on their own clock; customers without history get the shop
    curve's best hour (on their clock too)."""
    ids = list(customer_ids)
    prior = prior or shop_prior(refresh=True)
    counts = hour_counts(ids)
    zones = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "timezone"))
    shop_hour = best_hour(prior.alpha)
    times: dict[int, datetime] = {}
    for customer_id in ids:
        history = counts.get(customer_id)
        hour = shop_hour if history is None else thompson_hour(posterior(history, prior), rng)
        times[customer_id] = next_send_time(start, hour, zone(zones.get(customer_id)))
    return times
