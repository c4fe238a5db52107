"""Features and labels of every customer at a cutoff, and the datasets stacked from several cutoffs.

Set-based: every feature for every customer at a cutoff is a handful of vectorised passes (bincount,
sorted group boundaries) over the `History` arrays. No per-customer Python. Features come from events
strictly before the cutoff, labels from the window after it, so nothing a model sees at training time
comes from the future it is scored on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..models import EventType
from .btyd import BuyTillYouDie, rfm_at
from .history import TYPE_CODES, History, day_text
from .targets import NotEnoughHistory, TargetSpec

logger = logging.getLogger(__name__)

FeatureSet = tuple[np.ndarray, dict[str, np.ndarray]]
"""(seen, features) of every customer at one cutoff: `seen` marks customers with an event before it."""

FeatureCache = dict[float, FeatureSet]
"""Feature sets by cutoff: the targets of one training run share their cutoffs."""

BTYD_FEATURES = ["bgnbd_purchases_30d", "bgnbd_purchases_90d", "bgnbd_p_alive", "bgnbd_value_90d"]
"""Buy-till-you-die expectations, fitted on the shop's buyers at each cutoff (NaN for customers without an
order; 0 for everyone when the history cannot fit them: gradient boosting fails on a column of NaN only, and
a constant column is ignored). The horizons are the targets' (30 and 90 days)."""

FEATURES = [
    "recency_days", "orders", "revenue", "avg_order_value", "first_order_age_days", "orders_30d", "orders_90d",
    "revenue_90d", "gap_mean", "gap_median", "gap_std", "gap_last", "overdue_ratio",
    "tenure_days", "days_since_last_event", "days_since_last_view", "active_days_30d", "active_days_90d",
    "views_7d", "views_30d", "views_90d", "carts_7d", "carts_30d", "carts_90d", "searches_30d",
    "opens_30d", "clicks_30d", "distinct_products", "distinct_categories",
    *BTYD_FEATURES,
]


def _group_last(keys: np.ndarray) -> np.ndarray:
    """Indexes of the last row of each run of equal keys in a sorted array."""
    return np.flatnonzero(np.r_[keys[1:] != keys[:-1], True]) if len(keys) else np.empty(0, dtype=np.int64)


def _group_first(keys: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.empty(0, dtype=np.int64)


def features_at(h: History, cutoff: float) -> FeatureSet:
    """(seen, features) for every customer as of `cutoff`: `seen` marks customers with an event before it.
    Missing values (no order yet, no gap yet) are NaN: gradient boosting treats them as their own branch."""
    n = h.n
    nan = np.full(n, np.nan)
    f: dict[str, np.ndarray] = {}

    def count(keys: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(keys, weights=weights, minlength=n).astype(np.float64)

    m = h.o_t < cutoff
    oc, ot, ov = h.o_cust[m], h.o_t[m], h.o_value[m]
    orders = count(oc)
    f["orders"], f["revenue"] = orders, count(oc, ov)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["avg_order_value"] = np.where(orders > 0, f["revenue"] / orders, np.nan)
    last, first = nan.copy(), nan.copy()
    li, fi = _group_last(oc), _group_first(oc)
    last[oc[li]], first[oc[fi]] = ot[li], ot[fi]
    f["recency_days"], f["first_order_age_days"] = cutoff - last, cutoff - first
    f["orders_30d"] = count(oc[ot >= cutoff - 30])
    f["orders_90d"] = count(oc[ot >= cutoff - 90])
    f["revenue_90d"] = count(oc[ot >= cutoff - 90], ov[ot >= cutoff - 90])

    same = oc[1:] == oc[:-1] if len(oc) else np.empty(0, dtype=bool)
    gaps, gc = np.diff(ot)[same], oc[1:][same]
    n_gaps = count(gc)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_gaps > 0, count(gc, gaps) / n_gaps, np.nan)
        f["gap_mean"] = mean
        f["gap_std"] = np.where(n_gaps > 1, np.sqrt(np.maximum(count(gc, gaps**2) / n_gaps - mean**2, 0)), np.nan)
        f["overdue_ratio"] = f["recency_days"] / np.maximum(mean, 1.0)
    gap_last, median = nan.copy(), nan.copy()
    gl = _group_last(gc)
    gap_last[gc[gl]] = gaps[gl]
    f["gap_last"] = gap_last
    if len(gaps):
        order = np.lexsort((gaps, gc))
        sg, sc = gaps[order], gc[order]
        starts = _group_first(sc)
        sizes = np.diff(np.r_[starts, len(sc)])
        median[sc[starts]] = (sg[starts + (sizes - 1) // 2] + sg[starts + sizes // 2]) / 2
    f["gap_median"] = median

    m = h.a_t < cutoff
    ac, at, atype, acount = h.a_cust[m], h.a_t[m], h.a_type[m], h.a_count[m]
    seen = count(ac) > 0
    first_event, last_event = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(first_event, ac, at)
    np.maximum.at(last_event, ac, at)
    f["tenure_days"] = np.where(seen, cutoff - first_event, np.nan)
    f["days_since_last_event"] = np.where(seen, cutoff - last_event, np.nan)
    view, cart = TYPE_CODES[EventType.VIEW.value], TYPE_CODES[EventType.ADD_TO_CART.value]
    is_view = atype == view
    last_view = np.full(n, -np.inf)
    np.maximum.at(last_view, ac[is_view], at[is_view])
    f["days_since_last_view"] = np.where(np.isfinite(last_view), cutoff - last_view, np.nan)
    day = np.floor(at).astype(np.int64)
    for days in (30, 90):
        recent = at >= cutoff - days
        pairs = np.unique(np.stack([ac[recent], day[recent]]), axis=1) if recent.any() else np.empty((2, 0), int)
        f[f"active_days_{days}d"] = count(pairs[0].astype(np.int64))
    for name, code, windows in (
        ("views", view, (7, 30, 90)),
        ("carts", cart, (7, 30, 90)),
        ("searches", TYPE_CODES[EventType.SEARCH.value], (30,)),
        ("opens", TYPE_CODES[EventType.OPEN.value], (30,)),
        ("clicks", TYPE_CODES[EventType.CLICK.value], (30,)),
    ):
        for days in windows:
            sel = (atype == code) & (at >= cutoff - days)
            f[f"{name}_{days}d"] = count(ac[sel], acount[sel])
    f["distinct_products"] = count(h.p_cust[h.p_t < cutoff])
    f["distinct_categories"] = count(h.g_cust[h.g_t < cutoff])
    f.update(btyd_features(h, cutoff))
    return seen, f


def btyd_features(h: History, cutoff: float) -> dict[str, np.ndarray]:
    """BG/NBD + Gamma-Gamma fitted on the orders before `cutoff` (one fit per cutoff: `FeatureCache` keeps the
    result), or 0 everywhere with the reason logged when the history cannot identify them."""
    rfm = rfm_at(h, cutoff)
    try:
        model = BuyTillYouDie.fit(rfm)
    except NotEnoughHistory as exc:
        logger.info("no buy-till-you-die features at %s: %s", day_text(cutoff), exc)
        return {name: np.zeros(h.n) for name in BTYD_FEATURES}
    return {
        "bgnbd_purchases_30d": model.expected_purchases(rfm, 30),
        "bgnbd_purchases_90d": model.expected_purchases(rfm, 90),
        "bgnbd_p_alive": model.p_alive(rfm),
        "bgnbd_value_90d": model.expected_value(rfm, 90),
    }


def matrix(f: dict[str, np.ndarray], rows: np.ndarray, names: Sequence[str] = FEATURES) -> np.ndarray:
    return np.column_stack([f[name][rows] for name in names]) if len(rows) else np.empty((0, len(names)))


def cached_features(h: History, cutoff: float, cache: FeatureCache) -> FeatureSet:
    if cutoff not in cache:
        cache[cutoff] = features_at(h, cutoff)
    return cache[cutoff]


@dataclass
class Labels:
    bought: np.ndarray  # an order in [cutoff, cutoff + horizon)
    value: np.ndarray  # revenue in that window
    next_order: np.ndarray  # time of the first order in the window (inf when none)


def labels_at(h: History, cutoff: float, horizon: int) -> Labels:
    m = (h.o_t >= cutoff) & (h.o_t < cutoff + horizon)
    oc, ot = h.o_cust[m], h.o_t[m]
    value = np.bincount(oc, weights=h.o_value[m], minlength=h.n).astype(np.float64)
    nxt = np.full(h.n, np.inf)
    np.minimum.at(nxt, oc, ot)
    return Labels(np.isfinite(nxt), value, nxt)


def population(spec: TargetSpec, seen: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    """Dense indexes of the customers a target is about, at one cutoff."""
    if spec.population == "buyers":
        mask = f["orders"] >= 1
    elif spec.population == "repeat":
        mask = f["orders"] >= 2
    else:
        mask = seen
    return np.flatnonzero(mask & seen)


@dataclass
class Dataset:
    X: np.ndarray
    rows: np.ndarray  # dense customer index of each row
    cutoffs: np.ndarray  # cutoff of each row
    bought: np.ndarray
    value: np.ndarray
    gap: np.ndarray  # days from the last order before the cutoff to the first one after (nan when none)
    recency: np.ndarray

    @property
    def size(self) -> int:
        return len(self.rows)

    def subset(self, mask: np.ndarray) -> Dataset:
        return Dataset(self.X[mask], self.rows[mask], self.cutoffs[mask], self.bought[mask], self.value[mask],
                       self.gap[mask], self.recency[mask])


def build_dataset(spec: TargetSpec, h: History, cutoffs: Sequence[float], cache: FeatureCache) -> Dataset:
    """The target's population at each cutoff: features, labels and the gap to the next order, stacked."""
    parts: list[Dataset] = []
    for c in cutoffs:
        seen, f = cached_features(h, c, cache)
        rows = population(spec, seen, f)
        lab = labels_at(h, c, spec.horizon)
        last_order = c - f["recency_days"][rows]
        gap = np.where(lab.bought[rows], lab.next_order[rows] - last_order, np.nan)
        parts.append(Dataset(matrix(f, rows), rows, np.full(len(rows), c), lab.bought[rows], lab.value[rows],
                             gap, f["recency_days"][rows]))
    if not parts:
        return Dataset(np.empty((0, len(FEATURES))), *(np.empty(0) for _ in range(6)))
    return Dataset(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                     ("X", "rows", "cutoffs", "bought", "value", "gap", "recency")))
