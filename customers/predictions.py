"""Per-customer predictions from the shop's own events; the `train_predictions` job kind.

Four targets, each trained, evaluated, versioned and refused on its own:
- `purchase_30d`: probability of at least one order in the next 30 days (customers seen before);
- `churn`: probability of no order in the next 90 days, among customers who have ordered;
- `value_90d`: expected revenue over the next 90 days, a hurdle model: P(order in 90 days) x
  E[revenue | an order] (log1p regression scaled back to currency so its sum matches);
- `next_order`: expected date of the next order, among repeat buyers: regress the gap from the last order
  to the next one (date = last order + gap, never before `now`); customers with one order get the
  median gap of repeat buyers.

Why a time split: features are computed from events strictly before a cutoff and labels from the window
after it, so nothing the model sees at training time comes from the future it is scored on. Several
training cutoffs (one every 30 days) are stacked to have enough rows; validation is the *latest* window
(cutoff = now - horizon), whose labels no training row saw. When the history is too short for a separate
later window, validation holds out 25% of customers at the same cutoff (said so in the metrics: that is
optimistic about drift). The served model is then refitted on every window including the validation one
(more recent data), and scores every customer with features as of `now`.

Features are set-based: three aggregate SQL queries (orders, daily activity per type, first time a
customer touched a product/category) read into numpy arrays, then every feature for every customer at a
cutoff is a handful of vectorised passes (bincount, sorted group boundaries). No per-customer Python.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import cross_val_predict

from catalog.model_versions import activate, activate_if_better, active_version, models_dir, record_version
from catalog.models import ModelVersion, Product
from jobs.runner import JobContext, job_kind

from .models import CustomerPrediction, Event, EventType

DAY = 86400.0
SEED = 0
WINDOW_STEP = 30  # days between stacked training cutoffs
MAX_TRAIN_WINDOWS = 6  # more old windows add rows but describe an older shop
MIN_ROWS = 30  # training rows (customer x cutoff) below which a model is noise
MIN_PER_CLASS = 5  # of each outcome, in training and in validation, for a classifier
MIN_REGRESSION_ROWS = 20  # buyers (value) or re-orders (next order) to fit a regressor on
VALIDATION_SHARE = 0.25  # customers held out when the history is too short for a later window
ISOTONIC_FROM = 2000  # training rows from which isotonic calibration beats sigmoid (it overfits below)
UPSERT_BATCH = 5000  # prediction rows per INSERT ... ON CONFLICT (a few hundred kB of parameters)
SCORE_BATCH = 50_000  # customers per predict call (a 50k x 30 float matrix is 12 MB)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)."""


@dataclass(frozen=True)
class TargetSpec:
    name: str
    horizon: int  # days of outcome after the cutoff
    min_feature_days: int  # days of history before the earliest cutoff
    population: str  # "seen" (any event), "buyers" (>= 1 order), "repeat" (>= 2 orders)
    kind: str  # "classifier", "value", "gap"
    what: str


TARGETS: dict[str, TargetSpec] = {
    spec.name: spec
    for spec in (
        TargetSpec("purchase_30d", 30, 30, "seen", "classifier", "an order in the next 30 days"),
        TargetSpec("churn", 90, 30, "buyers", "classifier", "no order in the next 90 days"),
        TargetSpec("value_90d", 90, 30, "seen", "value", "revenue over the next 90 days"),
        TargetSpec("next_order", 90, 30, "repeat", "gap", "days from the last order to the next"),
    )
}


class NotEnoughHistory(ValueError):
    """A target cannot be trained on this shop's history; the message says what was found and needed."""


# --- Reading the history --------------------------------------------------------------------------------


@dataclass
class History:
    """Everything the features and labels need, as arrays; times are days since the Unix epoch."""

    customer_pks: np.ndarray  # dense index -> Customer pk
    o_cust: np.ndarray  # orders, sorted by (customer, time)
    o_t: np.ndarray
    o_value: np.ndarray
    a_cust: np.ndarray  # activity: one row per customer, event type and day
    a_type: np.ndarray
    a_t: np.ndarray  # the latest event of that type that day
    a_count: np.ndarray
    p_cust: np.ndarray  # first time each customer touched each product
    p_t: np.ndarray
    g_cust: np.ndarray  # first time each customer touched each product category
    g_t: np.ndarray
    now: float

    @property
    def n(self) -> int:
        return len(self.customer_pks)

    @property
    def start(self) -> float | None:
        return float(self.a_t.min()) if len(self.a_t) else None


TYPE_CODES = {t.value: i for i, t in enumerate(EventType)}


def _days(moment: datetime) -> float:
    return moment.timestamp() / DAY


def _moment(days: float) -> datetime:
    return datetime.fromtimestamp(days * DAY, tz=UTC)


def default_now() -> datetime:
    """Midnight (UTC) after the latest event, or the current time if that is earlier.

    Anchoring on the data rather than the clock keeps an imported history (Online Retail, 2010) from
    being judged against fifteen empty years; for a live shop the latest event is about now anyway.
    """
    latest = Event.objects.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    current = timezone.now()
    if latest is None:
        return current
    midnight = datetime.combine(latest.astimezone(UTC).date() + timedelta(days=1), dtime.min, tzinfo=UTC)
    return min(midnight, current)


def parse_now(value: str | date | datetime | None) -> datetime | None:
    """A date means midnight UTC at its start; a date-time without a zone is taken as UTC."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    if isinstance(value, date):
        return datetime.combine(value, dtime.min, tzinfo=UTC)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), dtime.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"now={value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fetch(sql: str, params: Sequence[Any], columns: int) -> list[np.ndarray]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return [np.empty(0) for _ in range(columns)]
    return [np.asarray(col) for col in zip(*rows, strict=True)]


def load_history(now: datetime) -> History:
    """Three aggregate queries over the events before `now` (the row counts are customers x days x types
    and customers x products, not raw events)."""
    ev, pr = Event._meta.db_table, Product._meta.db_table
    purchase = EventType.PURCHASE.value
    # An order is its order_id; purchases without one are grouped per customer and day.
    cust, t, value = _fetch(
        f"""SELECT customer_id, MIN(EXTRACT(EPOCH FROM occurred_at))::float8 / 86400, COALESCE(SUM(value), 0)::float8
            FROM {ev} WHERE type = %s AND occurred_at < %s
            GROUP BY customer_id, CASE WHEN order_id <> '' THEN order_id
                                       ELSE 'day:' || (occurred_at AT TIME ZONE 'UTC')::date::text END""",
        [purchase, now], 3,
    )
    a_cust, a_type, a_t, a_count = _fetch(
        f"""SELECT customer_id, type, MAX(EXTRACT(EPOCH FROM occurred_at))::float8 / 86400, COUNT(*)
            FROM {ev} WHERE occurred_at < %s
            GROUP BY customer_id, type, (occurred_at AT TIME ZONE 'UTC')::date""",
        [now], 4,
    )
    p_cust, p_t = _fetch(
        f"""SELECT customer_id, MIN(EXTRACT(EPOCH FROM occurred_at))::float8 / 86400
            FROM {ev} WHERE occurred_at < %s AND product_id IS NOT NULL GROUP BY customer_id, product_id""",
        [now], 2,
    )
    g_cust, g_t = _fetch(
        f"""SELECT e.customer_id, MIN(EXTRACT(EPOCH FROM e.occurred_at))::float8 / 86400
            FROM {ev} e JOIN {pr} p ON p.id = e.product_id
            WHERE e.occurred_at < %s AND p.category <> '' GROUP BY e.customer_id, p.category""",
        [now], 2,
    )
    pks = np.unique(a_cust.astype(np.int64)) if len(a_cust) else np.empty(0, dtype=np.int64)

    def dense(raw: np.ndarray) -> np.ndarray:
        return np.searchsorted(pks, raw.astype(np.int64)) if len(raw) else np.empty(0, dtype=np.int64)

    o_cust = dense(cust)
    o_t = t.astype(np.float64)
    order = np.lexsort((o_t, o_cust))
    type_codes = np.array([TYPE_CODES.get(str(x), -1) for x in a_type], dtype=np.int64)
    return History(
        customer_pks=pks,
        o_cust=o_cust[order], o_t=o_t[order], o_value=value.astype(np.float64)[order],
        a_cust=dense(a_cust), a_type=type_codes, a_t=a_t.astype(np.float64), a_count=a_count.astype(np.float64),
        p_cust=dense(p_cust), p_t=p_t.astype(np.float64),
        g_cust=dense(g_cust), g_t=g_t.astype(np.float64),
        now=_days(now),
    )


# --- Features and labels ----------------------------------------------------------------------------------

FEATURES = [
    "recency_days", "orders", "revenue", "avg_order_value", "first_order_age_days", "orders_30d", "orders_90d",
    "revenue_90d", "gap_mean", "gap_median", "gap_std", "gap_last", "overdue_ratio",
    "tenure_days", "days_since_last_event", "days_since_last_view", "active_days_30d", "active_days_90d",
    "views_7d", "views_30d", "views_90d", "carts_7d", "carts_30d", "carts_90d", "searches_30d",
    "opens_30d", "clicks_30d", "distinct_products", "distinct_categories",
]


def _group_last(keys: np.ndarray) -> np.ndarray:
    """Indexes of the last row of each run of equal keys in a sorted array."""
    return np.flatnonzero(np.r_[keys[1:] != keys[:-1], True]) if len(keys) else np.empty(0, dtype=np.int64)


def _group_first(keys: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.empty(0, dtype=np.int64)


def features_at(h: History, cutoff: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
    return seen, f


def matrix(f: dict[str, np.ndarray], rows: np.ndarray, names: Sequence[str] = FEATURES) -> np.ndarray:
    return np.column_stack([f[name][rows] for name in names]) if len(rows) else np.empty((0, len(names)))


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


# --- Windows and datasets ----------------------------------------------------------------------------------


def _fmt(days: float) -> str:
    return _moment(days).date().isoformat()


@dataclass
class Plan:
    mode: str  # "later window" or "customer split"
    train_cutoffs: list[float]
    validation_cutoff: float
    refit_cutoffs: list[float]


def plan_windows(spec: TargetSpec, h: History) -> Plan:
    """Cutoffs for training, validation and the final refit, or NotEnoughHistory saying why not."""
    need = spec.min_feature_days + spec.horizon
    start = h.start
    if start is None:
        raise NotEnoughHistory(
            f"{spec.name}: no events before {_fmt(h.now)}; it needs at least {need} days of history: "
            f"{spec.min_feature_days} of features before the cutoff and {spec.horizon} of outcome after it"
        )
    span = h.now - start
    if span < need:
        raise NotEnoughHistory(
            f"{spec.name}: history spans {round(span)} days ({_fmt(start)} to {_fmt(h.now - 1 / DAY)}); "
            f"{spec.name} needs at least {need} days: {spec.min_feature_days} of features before the cutoff "
            f"and {spec.horizon} of outcome after it"
        )
    validation = h.now - spec.horizon
    earliest = start + spec.min_feature_days

    def cutoffs_from(latest: float) -> list[float]:
        out: list[float] = []
        c = latest
        while c >= earliest and len(out) < MAX_TRAIN_WINDOWS:
            out.append(c)
            c -= WINDOW_STEP
        return out

    train = cutoffs_from(validation - spec.horizon)
    if train:
        return Plan("later window", train, validation, cutoffs_from(validation))
    single = cutoffs_from(validation)
    return Plan("customer split", single, validation, single)


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


def build_dataset(spec: TargetSpec, h: History, cutoffs: Sequence[float], cache: dict[float, Any]) -> Dataset:
    parts: list[Dataset] = []
    for c in cutoffs:
        if c not in cache:
            cache[c] = features_at(h, c)
        seen, f = cache[c]
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


# --- Models ------------------------------------------------------------------------------------------------


def _booster_params(n: int) -> dict[str, Any]:
    return {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15,
            "min_samples_leaf": int(min(20, max(5, n // 20))), "l2_regularization": 1.0,
            "early_stopping": False, "random_state": SEED}


def fit_classifier(X: np.ndarray, y: np.ndarray) -> CalibratedClassifierCV:
    """Gradient boosting calibrated by 3-fold cross-validation: isotonic with enough rows, else sigmoid."""
    method = "isotonic" if len(y) >= ISOTONIC_FROM else "sigmoid"
    model = CalibratedClassifierCV(HistGradientBoostingClassifier(**_booster_params(len(y))), method=method, cv=3)
    return model.fit(X, y.astype(int))


def fit_value_regressor(X: np.ndarray, value: np.ndarray) -> tuple[HistGradientBoostingRegressor, float]:
    """log1p(revenue | an order) and a factor that makes the out-of-fold predictions sum to the revenue:
    exp() of a mean log under-predicts the mean, and Duan's smearing (mean exp(residual)) over-corrected by
    1.8x on the demo shop's heavy-tailed order values; a ratio of sums is calibrated in the large."""
    y = np.log1p(np.maximum(value, 0))
    params = _booster_params(len(y))
    model = HistGradientBoostingRegressor(**params).fit(X, y)
    folds = min(3, len(y))
    oof = cross_val_predict(HistGradientBoostingRegressor(**params), X, y, cv=folds) if folds >= 2 else y
    predicted = float(np.expm1(oof).clip(min=0).sum())
    smearing = float(np.maximum(value, 0).sum() / predicted) if predicted > 0 else 1.0
    return model, smearing


def fit_gap_regressor(X: np.ndarray, gap: np.ndarray) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(loss="absolute_error", **_booster_params(len(gap))).fit(X, gap)


@dataclass
class ServedModel:
    """What is saved with joblib and loaded to score: the estimators and how to turn outputs into values."""

    target: str
    features: list[str]
    horizon: int
    classifier: Any = None
    regressor: Any = None
    smearing: float = 1.0
    fallback_gap: float | None = None  # next_order: for customers with one order (no gap of their own)

    def predict(self, X: np.ndarray, recency: np.ndarray) -> np.ndarray:
        """Probability (classifiers), currency (value) or days from the last order (gap)."""
        if not len(X):
            return np.empty(0)
        if self.target == "value_90d":
            p = self.classifier.predict_proba(X)[:, 1]
            return np.asarray(p * np.expm1(self.regressor.predict(X)).clip(min=0) * self.smearing, dtype=float)
        if self.target == "next_order":
            gap = np.asarray(self.regressor.predict(X), dtype=float)
            return np.clip(gap, recency, recency + self.horizon)
        return np.asarray(self.classifier.predict_proba(X)[:, 1], dtype=float)  # churn's classes are churned


def fit_served(spec: TargetSpec, data: Dataset) -> ServedModel:
    model = ServedModel(spec.name, list(FEATURES), spec.horizon)
    if spec.kind == "classifier":
        y = ~data.bought if spec.name == "churn" else data.bought
        model.classifier = fit_classifier(data.X, y)
    elif spec.kind == "value":
        model.classifier = fit_classifier(data.X, data.bought)
        buyers = data.bought
        model.regressor, model.smearing = fit_value_regressor(data.X[buyers], data.value[buyers])
    else:
        reordered = ~np.isnan(data.gap)
        model.regressor = fit_gap_regressor(data.X[reordered], data.gap[reordered])
        model.fallback_gap = float(np.median(data.gap[reordered]))
    return model


# --- Checks, metrics ---------------------------------------------------------------------------------------


def _cutoff_text(cutoffs: Sequence[float]) -> str:
    dates = sorted({_fmt(c) for c in cutoffs})
    return dates[0] if len(dates) == 1 else f"{len(dates)} cutoffs {dates[0]} to {dates[-1]}"


def check_dataset(spec: TargetSpec, data: Dataset, where: str, cutoffs: Sequence[float]) -> None:
    """Refuse a training or validation set that cannot teach or judge the target."""
    who = {"seen": "customers with events", "buyers": "customers with an order",
           "repeat": "customers with two or more orders"}[spec.population]
    at = f"at {_cutoff_text(cutoffs)}"
    minimum = MIN_ROWS if where == "training" else MIN_PER_CLASS * 2
    if data.size < minimum:
        raise NotEnoughHistory(
            f"{spec.name}: {where} has {data.size} {who} {at}; it needs at least {minimum}"
        )
    if spec.kind in ("classifier", "value"):
        positive = int(data.bought.sum())
        negative = data.size - positive
        if min(positive, negative) < MIN_PER_CLASS:
            raise NotEnoughHistory(
                f"{spec.name}: {where} labels have {'one class' if min(positive, negative) == 0 else 'too few of one'}"
                f": of {data.size} {who} {at}, {positive} ordered within {spec.horizon} days and {negative} did "
                f"not; a classifier needs at least {MIN_PER_CLASS} of each"
            )
    if spec.kind in ("value", "gap"):
        rows = int(data.bought.sum()) if spec.kind == "value" else int((~np.isnan(data.gap)).sum())
        minimum = MIN_REGRESSION_ROWS if where == "training" else MIN_PER_CLASS
        if rows < minimum:
            what = "ordered" if spec.kind == "value" else "ordered again"
            raise NotEnoughHistory(
                f"{spec.name}: in {where}, {rows} of {data.size} {who} {at} {what} within {spec.horizon} days; "
                f"the regression needs at least {minimum}"
            )


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Deciles of predicted probability: how many, mean predicted, observed rate."""
    order = np.argsort(p, kind="stable")
    out = []
    for i, idx in enumerate(np.array_split(order, bins)):
        if len(idx):
            out.append({"decile": i + 1, "n": len(idx), "mean_predicted": round(float(p[idx].mean()), 4),
                        "observed": round(float(y[idx].mean()), 4)})
    return out


def classifier_metrics(y: np.ndarray, p: np.ndarray, base_rate: float, naive_score: np.ndarray) -> dict[str, Any]:
    y = y.astype(int)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 4),
        "baseline_brier": round(float(brier_score_loss(y, np.full(len(y), base_rate))), 4),
        "baseline_auc": round(float(roc_auc_score(y, naive_score)), 4),
        "observed_rate": round(float(y.mean()), 4),
        "mean_predicted": round(float(p.mean()), 4),
        "calibration": calibration_table(y, p),
    }


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.mean(np.abs(a - b))), 3)


def evaluate(spec: TargetSpec, model: ServedModel, train: Dataset, valid: Dataset) -> dict[str, Any]:
    """Metrics on the validation rows, with naive baselines so a number can be judged."""
    col = {name: i for i, name in enumerate(FEATURES)}
    recency_or_event = np.where(np.isnan(valid.X[:, col["recency_days"]]),
                                valid.X[:, col["days_since_last_event"]] + 1000, valid.X[:, col["recency_days"]])
    pred = model.predict(valid.X, valid.recency)
    if spec.kind == "classifier":
        y_train = ~train.bought if spec.name == "churn" else train.bought
        y = ~valid.bought if spec.name == "churn" else valid.bought
        naive = recency_or_event if spec.name == "churn" else -recency_or_event
        metrics = classifier_metrics(y, pred, float(y_train.mean()), naive)
        metrics["baseline"] = "brier: training base rate; auc: days since the last order (or event)"
        metrics["selection"] = {"metric": "brier", "score": -metrics["brier"]}
        return metrics
    if spec.kind == "value":
        p_buy = model.classifier.predict_proba(valid.X)[:, 1]
        metrics = {f"buy_{k}": v for k, v in classifier_metrics(
            valid.bought, p_buy, float(train.bought.mean()), -recency_or_event).items() if k != "baseline_auc"}
        last_90 = valid.X[:, col["revenue_90d"]]
        metrics.update({
            "mae": _mae(pred, valid.value),
            "baseline_mae_mean": _mae(np.full(valid.size, train.value.mean()), valid.value),
            "baseline_mae_last_90d": _mae(last_90, valid.value),
            "baseline_mae_zero": _mae(np.zeros(valid.size), valid.value),
            "rmse": _rmse(pred, valid.value),
            "baseline_rmse_mean": _rmse(np.full(valid.size, train.value.mean()), valid.value),
            "baseline_rmse_last_90d": _rmse(last_90, valid.value),
            "baseline_rmse_zero": _rmse(np.zeros(valid.size), valid.value),
            "total_predicted": round(float(pred.sum()), 2),
            "total_observed": round(float(valid.value.sum()), 2),
            "spearman": round(_spearman(pred, valid.value), 4),
            "baseline": "mean: training mean of the 90-day revenue; last_90d: the 90 days before the cutoff "
                        "repeat; zero: nobody buys",
        })
        # An expected value is a mean: squared error is the proper score for it (MAE favours the median, which
        # is 0 for most customers, so "predict zero" wins on MAE while saying nothing).
        metrics["selection"] = {"metric": "rmse", "score": -metrics["rmse"]}
        return metrics
    reordered = ~np.isnan(valid.gap)
    gap, rec = valid.gap[reordered], valid.recency[reordered]
    own = valid.X[reordered, col["gap_median"]]
    train_gaps = train.gap[~np.isnan(train.gap)]
    metrics = {
        "mae_days": _mae(pred[reordered], gap),
        "baseline_mae_days_own_median_gap": _mae(np.clip(own, rec, rec + spec.horizon), gap),
        "baseline_mae_days_global_median_gap": _mae(
            np.clip(np.full(len(gap), np.median(train_gaps)), rec, rec + spec.horizon), gap),
        "median_gap_days": round(float(np.median(train_gaps)), 2),
        "n_reordered_validation": int(reordered.sum()),
        "n_reordered_train": len(train_gaps),
        "baseline": "own median gap: the customer's median gap between past orders; global: the median gap of "
                    "training re-orders; both clipped, like the model, to the outcome window",
        "note": f"conditional on an order within {spec.horizon} days of the cutoff",
    }
    metrics["selection"] = {"metric": "mae_days", "score": -metrics["mae_days"]}
    return metrics


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.sqrt(np.mean((a - b) ** 2))), 3)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2:
        return float("nan")
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    c = np.corrcoef(ra, rb)[0, 1]
    return 0.0 if math.isnan(c) else float(c)


# --- Training, versioning, scoring ---------------------------------------------------------------------------


@dataclass
class TargetOutcome:
    target: str
    status: str  # "trained" or "refused"
    message: str = ""
    version: str = ""
    activated: bool = False
    serving: str = ""  # the version whose predictions were stored
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    scored: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("target", "status", "message", "version", "activated", "serving",
                                               "metrics", "params", "scored", "seconds")}


@dataclass
class PredictionsReport:
    now: str
    outcomes: list[TargetOutcome]

    @property
    def trained(self) -> list[str]:
        return [o.target for o in self.outcomes if o.status == "trained"]

    @property
    def refused(self) -> dict[str, str]:
        return {o.target: o.message for o in self.outcomes if o.status == "refused"}

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now, "trained": self.trained, "refused": self.refused,
                "targets": [o.as_dict() for o in self.outcomes]}


def check_targets(targets: Sequence[str] | None) -> list[str]:
    if not targets:
        return list(TARGETS)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    return list(dict.fromkeys(targets))


def _split_customers(data: Dataset, n_customers: int) -> np.ndarray:
    """Validation mask: a fixed random 25% of customers (all their rows), for the customer-split mode."""
    rng = np.random.default_rng(SEED)
    held = rng.random(n_customers) < VALIDATION_SHARE
    return held[data.rows.astype(np.int64)]


def train_target(spec: TargetSpec, h: History, cache: dict[float, Any]) -> tuple[ServedModel, dict[str, Any],
                                                                                  dict[str, Any]]:
    """Fit on the training windows, evaluate on validation, refit on everything: (served, metrics, params)."""
    started = time.monotonic()
    plan = plan_windows(spec, h)
    if plan.mode == "later window":
        train = build_dataset(spec, h, plan.train_cutoffs, cache)
        valid = build_dataset(spec, h, [plan.validation_cutoff], cache)
        check_dataset(spec, train, "training", plan.train_cutoffs)
        check_dataset(spec, valid, "validation", [plan.validation_cutoff])
    else:
        every = build_dataset(spec, h, plan.train_cutoffs, cache)
        held = _split_customers(every, h.n)
        train = every.subset(~held)
        valid = every.subset(held & (every.cutoffs == plan.validation_cutoff))
        check_dataset(spec, train, "training", plan.train_cutoffs)
        check_dataset(spec, valid, "validation", [plan.validation_cutoff])
    model = fit_served(spec, train)
    metrics = evaluate(spec, model, train, valid)
    metrics["validation"] = plan.mode
    if plan.mode == "customer split":
        metrics["validation_note"] = (
            f"history shorter than {spec.min_feature_days + 2 * spec.horizon} days: validated on "
            f"{int(VALIDATION_SHARE * 100)}% of customers held out at the same cutoff, "
            "optimistic about change over time"
        )
    fit_seconds = time.monotonic() - started
    full = build_dataset(spec, h, plan.refit_cutoffs, cache) if plan.mode == "later window" else every
    served = fit_served(spec, full)
    metrics["train_seconds"] = round(time.monotonic() - started, 2)
    metrics["evaluation_fit_seconds"] = round(fit_seconds, 2)
    params = {
        "now": _moment(h.now).isoformat(),
        "horizon_days": spec.horizon,
        "min_feature_days": spec.min_feature_days,
        "population": spec.population,
        "train_cutoffs": [_fmt(c) for c in plan.train_cutoffs],
        "validation_cutoff": _fmt(plan.validation_cutoff),
        "refit_cutoffs": [_fmt(c) for c in plan.refit_cutoffs],
        "n_train": train.size,
        "n_validation": valid.size,
        "n_refit": full.size,
        "positives_train": int(train.bought.sum()),
        "positives_validation": int(valid.bought.sum()),
        "features": list(FEATURES),
        "model": "HistGradientBoosting" + (" + CalibratedClassifierCV(cv=3, "
                                           f"{'isotonic' if train.size >= ISOTONIC_FROM else 'sigmoid'})"
                                           if spec.kind != "gap" else " (absolute error)"),
        "seed": SEED,
        "served_model": "refitted on every window up to the validation cutoff (labels end at `now`)",
    }
    return served, metrics, params


def save_model(model: ServedModel, role: str, name: str) -> Path:
    folder = models_dir(role) / name
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib")
    return folder


def load_model(version: ModelVersion) -> ServedModel | None:
    """The saved model of a version, or None when its files are gone or were made for other features."""
    try:
        model = joblib.load(Path(version.path) / "model.joblib")
    except Exception:
        return None
    if not isinstance(model, ServedModel) or any(name not in FEATURES for name in model.features):
        return None
    return model


def _compare_and_activate(version: ModelVersion, metrics: dict[str, Any], params: dict[str, Any]) -> bool:
    """Replace the active version only if it was judged on the same validation rows and scored worse;
    a version validated on other rows (other data, another `now`) cannot be compared, so the newer wins."""
    current = active_version(version.role)
    if current is not None and current.pk != version.pk:
        same = all(current.params.get(k) == params.get(k) for k in ("validation_cutoff", "n_validation", "now"))
        old = (current.metrics.get("selection") or {}).get("score")
        if same and old is not None:
            return activate_if_better(version, metrics["selection"]["metric"], metrics["selection"]["score"],
                                      float(old))
    activate(version)
    return True


def score_customers(spec: TargetSpec, model: ServedModel, version: ModelVersion, h: History,
                    cache: dict[float, Any]) -> int:
    """Predict for every customer in the target's population as of `now` and upsert the rows in bulk;
    predictions of this target left from an older version (customers no longer in it) are deleted."""
    if h.now not in cache:
        cache[h.now] = features_at(h, h.now)
    seen, f = cache[h.now]
    base = "buyers" if spec.name == "next_order" else spec.population
    rows = population(TargetSpec(spec.name, spec.horizon, 0, base, spec.kind, ""), seen, f)
    now_moment = _moment(h.now)
    computed = timezone.now()
    objects: list[CustomerPrediction] = []
    for start in range(0, len(rows), SCORE_BATCH):
        chunk = rows[start:start + SCORE_BATCH]
        recency = f["recency_days"][chunk]
        if spec.name == "next_order":
            pred = np.full(len(chunk), np.nan)
            repeat = f["orders"][chunk] >= 2
            pred[repeat] = model.predict(matrix(f, chunk[repeat], model.features), recency[repeat])
            fallback = model.fallback_gap or 0.0
            pred[~repeat] = np.clip(fallback, recency[~repeat], recency[~repeat] + model.horizon)
        else:
            pred = model.predict(matrix(f, chunk, model.features), recency)
        for i, pk in enumerate(h.customer_pks[chunk]):
            row = CustomerPrediction(customer_id=int(pk), target=spec.name, model_version=version,
                                     computed_at=computed)
            value = float(pred[i])
            if spec.kind == "classifier":
                row.probability = min(1.0, max(0.0, value))
            elif spec.kind == "value":
                row.value = round(max(0.0, value), 2)
            else:
                row.value = round(value, 2)  # days from the last order
                row.predicted_at = max(now_moment, now_moment - timedelta(days=float(recency[i]) - value))
            objects.append(row)
    with transaction.atomic():
        for start in range(0, len(objects), UPSERT_BATCH):
            CustomerPrediction.objects.bulk_create(
                objects[start:start + UPSERT_BATCH], update_conflicts=True, unique_fields=["customer", "target"],
                update_fields=["probability", "value", "predicted_at", "model_version", "computed_at"],
            )
        CustomerPrediction.objects.filter(target=spec.name).exclude(computed_at=computed).delete()
    return len(objects)


def train_predictions(
    now: datetime | None = None,
    targets: Sequence[str] | None = None,
    *,
    activate_new: bool = True,
    job_id: int | None = None,
    progress: Progress | None = None,
) -> PredictionsReport:
    """Train, evaluate, record and (if better) activate each target, then store every customer's predictions
    from the active version. A refused target does not stop the others."""
    names = check_targets(targets)
    moment = now or default_now()
    history = load_history(moment)
    cache: dict[float, Any] = {}
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    outcomes: list[TargetOutcome] = []
    for i, name in enumerate(names):
        spec = TARGETS[name]
        started = time.monotonic()
        try:
            served, metrics, params = train_target(spec, history, cache)
        except NotEnoughHistory as exc:
            outcomes.append(TargetOutcome(name, "refused", str(exc), seconds=round(time.monotonic() - started, 2)))
            if progress:
                progress(name, i + 1, len(names))
            continue
        version_name = f"{name}-{moment.date().isoformat()}-{stamp}"
        folder = save_model(served, name, version_name)
        version = record_version(name, version_name, path=folder, base_model="HistGradientBoosting (scikit-learn)",
                                 params=params, metrics=metrics, job_id=job_id)
        activated = _compare_and_activate(version, metrics, params) if activate_new else False
        serving_version = active_version(name)
        serving_model = served if serving_version and serving_version.pk == version.pk else (
            load_model(serving_version) if serving_version else None)
        scored = 0
        if serving_version is not None and serving_model is not None:
            scored = score_customers(spec, serving_model, serving_version, history, cache)
        outcomes.append(TargetOutcome(
            name, "trained", version=version.name, activated=activated,
            serving=serving_version.name if serving_version and serving_model else "", metrics=metrics,
            params=params, scored=scored, seconds=round(time.monotonic() - started, 2),
        ))
        if progress:
            progress(name, i + 1, len(names))
    return PredictionsReport(moment.isoformat(), outcomes)


@job_kind("train_predictions", queue="default",
          description="Purchase-in-30-days, churn, 90-day value and next-order models; score every customer.")
def train_predictions_job(
    ctx: JobContext, now: str | None = None, targets: list[str] | None = None, activate: bool = True
) -> dict[str, Any]:
    """Train each target (refusing those the history cannot support) and store the predictions."""
    names = check_targets(targets)
    ctx.set_total(len(names))

    def report(stage: str, done: int, total: int) -> None:
        ctx.advance(1)

    result = train_predictions(parse_now(now), names, activate_new=bool(activate), job_id=ctx.job.pk, progress=report)
    ctx.count(trained=len(result.trained), refused=len(result.refused),
              scored=sum(o.scored for o in result.outcomes))
    return result.as_dict()
