"""Order histories drawn from a known buy-till-you-die process, to check that the models recover it.

BG/NBD (Fader, Hardie and Lee 2005): each customer buys at a rate lambda ~ Gamma(r, rate alpha) while alive
and, after each repeat order, leaves for good with probability p ~ Beta(a, b). Gamma-Gamma: each order's value
is Gamma(p, rate nu) with nu ~ Gamma(q, rate v) per customer. Times are days; every customer's first order is
at a birth time drawn uniformly in [start, first_by).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import EventType
from .history import TYPE_CODES, History


@dataclass(frozen=True)
class Process:
    r: float = 0.8
    alpha: float = 30.0  # days: mean rate r / alpha = one order every ~38 days while alive
    a: float = 0.9
    b: float = 4.0
    p: float = 6.0
    q: float = 4.0
    v: float = 15.0  # mean order value p v / (q - 1) = 30

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("r", "alpha", "a", "b", "p", "q", "v")}


def simulate_orders(n: int, process: Process, start: float, first_by: float, end: float,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, time, value) of every order before `end`, sorted by customer and time."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(process.r, 1 / process.alpha, n)
    drop = rng.beta(process.a, process.b, n)
    nu = rng.gamma(process.q, 1 / process.v, n)
    t = rng.uniform(start, first_by, n)
    custs, times = [np.arange(n)], [t.copy()]
    active = np.ones(n, dtype=bool)  # alive and not past `end`: one vectorised step per repeat order
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1 / lam[idx])
        inside = t[idx] < end
        custs.append(idx[inside])
        times.append(t[idx[inside]])
        active[idx[~inside]] = False
        active[idx[inside & (rng.random(len(idx)) < drop[idx])]] = False  # leaves after this order
    cust, when = np.concatenate(custs), np.concatenate(times)
    order = np.lexsort((when, cust))
    cust, when = cust[order], when[order]
    value = rng.gamma(process.p, 1 / nu[cust])
    return cust, when, value


def history_from_orders(cust: np.ndarray, t: np.ndarray, value: np.ndarray, n: int, now: float) -> History:
    """A `History` holding only these orders (each one also a purchase event), for models that need no DB."""
    cust = cust.astype(np.int64)
    empty = np.empty(0)
    return History(
        customer_pks=np.arange(n, dtype=np.int64), o_cust=cust, o_t=t.astype(np.float64),
        o_value=value.astype(np.float64), a_cust=cust, a_type=np.full(len(cust), TYPE_CODES[EventType.PURCHASE.value]),
        a_t=t.astype(np.float64), a_count=np.ones(len(cust)), p_cust=empty.astype(np.int64), p_t=empty,
        g_cust=empty.astype(np.int64), g_t=empty, now=now,
    )
