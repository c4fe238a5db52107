"""Per-customer predictions from the shop's own events.

Four targets, each trained, evaluated, versioned and refused on its own:
- `purchase_30d`: probability of at least one order in the next 30 days (customers seen before);
- `churn`: probability of no order in the next 90 days, among customers who have ordered;
- `value_90d`: expected revenue over the next 90 days: gradient boosting with a Poisson deviance (log link)
  on the revenue itself, which handles the many zeros and the heavy tail in one model (a hurdle model,
  P(order) x E[revenue | an order], ranked worse on the demo shop and stays as an option);
- `next_order`: expected date of the next order, among repeat buyers: regress the gap from the last order
  to the next one (date = last order + gap, never before `now`); customers with one order get the
  median gap of repeat buyers.

Among the features are the buy-till-you-die expectations (`btyd`: BG/NBD + Gamma-Gamma fitted at each
cutoff), which are also the classic baseline every value metric is compared with.

The modules, in the order a run uses them: `targets` (what each target is), `history` (the events
before `now` as arrays), `btyd` (BG/NBD and Gamma-Gamma; `simulation` draws histories from them),
`features` (features and labels at a cutoff, stacked datasets), `splits` (the
time split and the refusals), `estimators` (the fitted and saved models), `evaluation` (metrics with
baselines), `serving` (versions and stored predictions) and `training` (a whole run). The job kind is
in `customers/tasks.py`; the command is `manage.py train_predictions`.
"""

from __future__ import annotations

# `ServedModel` stays importable from here: models saved before the package split were pickled as
# `customers.predictions.ServedModel` and load through this name.
from .estimators import ServedModel
from .features import FEATURES, features_at
from .history import History, default_now, load_history, to_days
from .splits import Plan, plan_windows
from .targets import TARGETS, NotEnoughHistory, TargetSpec, check_targets
from .training import PredictionsReport, TargetOutcome, train_predictions

__all__ = [
    "FEATURES",
    "TARGETS",
    "History",
    "NotEnoughHistory",
    "Plan",
    "PredictionsReport",
    "ServedModel",
    "TargetOutcome",
    "TargetSpec",
    "check_targets",
    "default_now",
    "features_at",
    "load_history",
    "plan_windows",
    "to_days",
    "train_predictions",
]
