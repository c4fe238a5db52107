"""Buy-till-you-die models: BG/NBD for the number of future orders and Gamma-Gamma for the spend per order.

The classic baselines of customer-lifetime value, and features of the project's own models. Both come from
pymc-marketing's CLV module (see docs/architecture.md for why that library), fitted by maximum likelihood:
flat priors and `find_MAP`, so the estimates are the textbook ones and a fit takes about a second (no MCMC).
The 95% intervals are Wald intervals on the log scale from a finite-difference Hessian of the log-likelihood
(a Laplace approximation), which keeps them positive and costs a few dozen likelihood evaluations.

Times are days, as everywhere in `History`. Customers without an order before the cutoff are outside these
models: every prediction for them is NaN, and the caller decides what they get.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .history import History
from .targets import NotEnoughHistory

logger = logging.getLogger(__name__)

MIN_BUYERS = 30  # customers with an order, below which BG/NBD's four parameters are not identified
MIN_REPEAT_BUYERS = 10  # customers with a repeat order: without them the dropout process is unknown
MIN_GAMMA_GAMMA = 20  # repeat buyers with a positive spend, to fit Gamma-Gamma (else the mean order value)
Z95 = 1.959963984540054
HESSIAN_STEP = 1e-3  # on the log scale of each parameter


@dataclass
class RFM:
    """One entry per customer of a History (dense index), all in days, at a cutoff."""

    frequency: np.ndarray  # repeat orders (orders - 1), 0 for one-order customers
    recency: np.ndarray  # last order - first order
    T: np.ndarray  # cutoff - first order
    monetary: np.ndarray  # mean value of the repeat orders (NaN where frequency == 0)
    buyers: np.ndarray  # bool: at least one order before the cutoff (others are not covered by BG/NBD)


def rfm_at(h: History, cutoff: float) -> RFM:
    """Frequency, recency, T and the mean repeat-order value of every customer from the orders before `cutoff`.

    An order is what `History` counts as one (an order id, or a customer's purchases of one day); the first
    order is excluded from `monetary`, as Gamma-Gamma's convention is (it is often atypical: a welcome offer).
    """
    n = h.n
    m = h.o_t < cutoff
    oc, ot, ov = h.o_cust[m], h.o_t[m], h.o_value[m]  # sorted by (customer, time)
    orders = np.bincount(oc, minlength=n).astype(np.float64)
    buyers = orders > 0
    first, last = np.full(n, np.nan), np.full(n, np.nan)
    repeat_value: np.ndarray
    if len(oc):
        starts = np.flatnonzero(np.r_[True, oc[1:] != oc[:-1]])
        ends = np.flatnonzero(np.r_[oc[1:] != oc[:-1], True])
        first[oc[starts]], last[oc[ends]] = ot[starts], ot[ends]
        repeat = np.ones(len(oc), dtype=bool)
        repeat[starts] = False
        repeat_value = np.bincount(oc[repeat], weights=ov[repeat], minlength=n).astype(np.float64)
    else:
        repeat_value = np.zeros(n, dtype=np.float64)
    frequency = np.where(buyers, orders - 1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / frequency, np.nan)
    return RFM(
        frequency=frequency,
        recency=np.where(buyers, last - first, np.nan),
        T=np.where(buyers, cutoff - first, np.nan),
        monetary=monetary,
        buyers=buyers,
    )


@contextmanager
def _quiet() -> Iterator[None]:
    """pymc and pytensor warn about BLAS, flat priors and one-draw "posteriors" on every fit: none applies here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _log_hessian(logp: Callable[[np.ndarray], float], u: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of `logp` at `u` (the log of each parameter)."""
    k, eps = len(u), HESSIAN_STEP
    hess = np.zeros((k, k))
    f0 = logp(u)
    for i in range(k):
        ei = np.eye(k)[i] * eps
        hess[i, i] = (logp(u + ei) - 2 * f0 + logp(u - ei)) / eps**2
        for j in range(i):
            ej = np.eye(k)[j] * eps
            hess[i, j] = hess[j, i] = (logp(u + ei + ej) - logp(u + ei - ej) - logp(u - ei + ej)
                                       + logp(u - ei - ej)) / (4 * eps**2)
    return hess


Intervals = dict[str, tuple[float, float]]


def _fit_mle(model: Any, data: pd.DataFrame, names: list[str], what: str) -> tuple[dict[str, float], Intervals]:
    """Maximum likelihood (flat priors, `find_MAP`) and log-scale Wald intervals of a pymc-marketing model."""
    try:
        with _quiet():
            idata = model.fit(data, method="map", progressbar=False)
            params = {name: float(np.asarray(idata.posterior[name]).ravel()[0]) for name in names}
            if not all(np.isfinite(v) and v > 0 for v in params.values()):
                raise NotEnoughHistory(f"{what}: the fit did not converge (parameters {params})")
            pm_model = model.model
            value_names = [pm_model.rvs_to_values[pm_model[name]].name for name in names]
            compiled = pm_model.compile_logp(jacobian=False)

            def logp(u: np.ndarray) -> float:
                return float(compiled(dict(zip(value_names, u, strict=True))))

            u = np.log([params[name] for name in names])
            hess = _log_hessian(logp, u)
    except NotEnoughHistory:
        raise
    except (ValueError, FloatingPointError, np.linalg.LinAlgError, RuntimeError) as exc:
        raise NotEnoughHistory(f"{what}: could not be fitted ({type(exc).__name__}: {exc})") from exc
    try:
        cov = np.linalg.inv(-hess)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.diag(cov))
    except np.linalg.LinAlgError:
        se = np.full(len(names), np.nan)
    if not np.all(np.isfinite(se)):
        logger.warning("%s: the likelihood is flat in some direction; intervals are unbounded", what)
        se = np.where(np.isfinite(se), se, np.inf)
    intervals = {name: (float(np.exp(ui - Z95 * s)), float(np.exp(ui + Z95 * s)))
                 for name, ui, s in zip(names, u, se, strict=True)}
    return params, intervals


@dataclass
class BuyTillYouDie:
    """A fitted BG/NBD (+ Gamma-Gamma when there are enough repeat buyers) and its predictions per customer."""

    params: dict[str, float]  # r, alpha, a, b (BG/NBD) and p, q, v (Gamma-Gamma, when fitted)
    intervals: dict[str, tuple[float, float]]  # 95% intervals of the same
    mean_order_value: float  # spend per order when Gamma-Gamma is absent
    notes: list[str] = field(default_factory=list)  # what was not fitted and why
    _bg_model: Any = field(default=None, repr=False, compare=False)
    _gg_model: Any = field(default=None, repr=False, compare=False)

    @property
    def gamma_gamma(self) -> bool:
        return self._gg_model is not None

    @classmethod
    def fit(cls, rfm: RFM) -> BuyTillYouDie:
        """BG/NBD on every buyer; Gamma-Gamma on repeat buyers with a positive mean spend, if there are enough."""
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

        buyers = np.flatnonzero(rfm.buyers)
        repeat = buyers[rfm.frequency[buyers] > 0]
        if len(buyers) < MIN_BUYERS or len(repeat) < MIN_REPEAT_BUYERS:
            raise NotEnoughHistory(
                f"BG/NBD: found {len(buyers)} customers with an order, {len(repeat)} of them with a repeat order; "
                f"it needs at least {MIN_BUYERS} and {MIN_REPEAT_BUYERS}"
            )
        if np.any(rfm.recency[buyers] > rfm.T[buyers]) or np.any(rfm.T[buyers] <= 0):
            raise NotEnoughHistory("BG/NBD: found a customer whose last order is after the cutoff or first order "
                                   "is not before it (recency > T or T <= 0)")
        flat = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
        bg = BetaGeoModel(model_config=flat)
        params, intervals = _fit_mle(bg, _frame(rfm, buyers), ["r", "alpha", "a", "b"], "BG/NBD")
        spend = repeat[np.isfinite(rfm.monetary[repeat]) & (rfm.monetary[repeat] > 0)]
        mean_order_value = float(np.mean(rfm.monetary[spend])) if len(spend) else 0.0
        model = cls(params, intervals, mean_order_value, _bg_model=bg)
        if np.isnan(model.expected_purchases(rfm, 30)[buyers]).any():
            raise NotEnoughHistory(
                f"BG/NBD: the fit on {len(buyers)} customers with an order is degenerate ("
                + ", ".join(f"{k} = {v:.3g}" for k, v in params.items())
                + "): no finite expectation, as when nobody has lapsed yet"
            )
        if len(spend) >= MIN_GAMMA_GAMMA:
            gg_flat = {name: Prior("HalfFlat") for name in ("p", "q", "v")}
            gg = GammaGammaModel(model_config=gg_flat)
            spend_data = pd.DataFrame({"customer_id": spend, "frequency": rfm.frequency[spend],
                                       "monetary_value": rfm.monetary[spend]})
            try:
                gg_params, gg_intervals = _fit_mle(gg, spend_data, ["p", "q", "v"], "Gamma-Gamma")
            except NotEnoughHistory as exc:
                model.notes.append(f"{exc}; the mean order value is used instead")
            else:
                if gg_params["q"] > 1:  # the mean spend p v / (q - 1) exists only for q > 1
                    model.params.update(gg_params)
                    model.intervals.update(gg_intervals)
                    model._gg_model = gg
                else:
                    model.notes.append(f"Gamma-Gamma: q = {gg_params['q']:.3g} <= 1 (no finite mean spend); "
                                       "the mean order value is used instead")
        else:
            model.notes.append(f"Gamma-Gamma: {len(spend)} repeat buyers with a positive spend (needs "
                               f"{MIN_GAMMA_GAMMA}); the mean order value is used instead")
        return model

    def _data(self, rfm: RFM) -> pd.DataFrame:
        rows = np.flatnonzero(rfm.buyers)
        frame = _frame(rfm, rows)
        # Gamma-Gamma's posterior mean for a one-order customer is the population mean: weight 0 x any value
        frame["monetary_value"] = np.nan_to_num(rfm.monetary[rows], nan=0.0)
        return frame

    def _spread(self, rfm: RFM, values: Any) -> np.ndarray:
        """Per-buyer library output (an xarray over chain, draw, customer; one MAP draw) to one entry per customer."""
        out = np.full(len(rfm.buyers), np.nan)
        out[rfm.buyers] = np.asarray(values, dtype=np.float64).reshape(-1)
        return out

    def p_alive(self, rfm: RFM) -> np.ndarray:
        """P(still a customer at the cutoff): 1 for one-order customers (BG/NBD drops out only after a repeat)."""
        if not rfm.buyers.any():
            return np.full(len(rfm.buyers), np.nan)
        with _quiet():
            return self._spread(rfm, self._bg_model.expected_probability_alive(self._data(rfm)))

    def expected_purchases(self, rfm: RFM, days: float) -> np.ndarray:
        """Expected orders in the `days` after the cutoff, given each customer's history."""
        if not rfm.buyers.any():
            return np.full(len(rfm.buyers), np.nan)
        with _quiet(), np.errstate(over="ignore", invalid="ignore"):
            e = self._spread(rfm, self._bg_model.expected_purchases(self._data(rfm), future_t=float(days)))
        return np.where(np.isfinite(e), np.maximum(e, 0.0), np.nan)

    def p_purchase(self, rfm: RFM, days: float) -> np.ndarray:
        """P(at least one order in the next `days`) = P(alive) x (1 - ((alpha + T) / (alpha + T + t))^(r + x)).

        A customer alive at the cutoff stays alive until the next order, and given alive the purchase rate is
        Gamma(r + x, alpha + T). pymc-marketing's `expected_probability_no_purchase` is the same quantity but
        NaN for one-order customers when b < 1 (a Beta function of b - 1), hence this closed form."""
        b = rfm.buyers
        x, T = rfm.frequency[b], rfm.T[b]
        r, alpha = self.params["r"], self.params["alpha"]
        none_if_alive = ((alpha + T) / (alpha + T + float(days))) ** (r + x)
        return self.p_alive(rfm) * self._spread(rfm, 1 - none_if_alive)

    def expected_spend(self, rfm: RFM) -> np.ndarray:
        """Expected spend per future order: Gamma-Gamma's posterior mean (the customer's mean repeat spend shrunk
        towards the population's; the population's for one-order customers), or the mean order value."""
        if not rfm.buyers.any():
            return np.full(len(rfm.buyers), np.nan)
        if self._gg_model is None:
            return self._spread(rfm, np.full(int(rfm.buyers.sum()), self.mean_order_value))
        with _quiet():
            return self._spread(rfm, self._gg_model.expected_customer_spend(self._data(rfm)))

    def expected_value(self, rfm: RFM, days: float) -> np.ndarray:
        """Expected revenue over the next `days`: expected orders x expected spend per order."""
        return self.expected_purchases(rfm, days) * self.expected_spend(rfm)


def _frame(rfm: RFM, rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": rows, "frequency": rfm.frequency[rows], "recency": rfm.recency[rows],
                         "T": rfm.T[rows]})
