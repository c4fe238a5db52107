"""Training a run: fit, evaluate, record, activate if better and score, target by target.

The served model is refitted on every window including the validation one (more recent data) and scores
every customer with features as of `now`. A refused target does not stop the others; the report says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from catalog.model_versions import active_version, record_version
from core.progress import NO_PROGRESS, Progress

from .estimators import ISOTONIC_FROM, ServedModel, fit_served, fit_stack
from .evaluation import evaluate
from .features import FEATURES, FeatureCache, build_dataset
from .history import History, day_text, default_now, from_days, load_history
from .serving import compare_and_activate, load_model, save_model, score_customers
from .splits import VALIDATION_SHARE, check_dataset, plan_windows, split_customers
from .targets import SEED, TARGETS, NotEnoughHistory, TargetSpec, check_targets

logger = logging.getLogger(__name__)


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


def train_target(
    spec: TargetSpec, h: History, cache: FeatureCache
) -> tuple[ServedModel, dict[str, Any], dict[str, Any]]:
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
        held = split_customers(every, h.n)
        train = every.subset(~held)
        valid = every.subset(held & (every.cutoffs == plan.validation_cutoff))
        check_dataset(spec, train, "training", plan.train_cutoffs)
        check_dataset(spec, valid, "validation", [plan.validation_cutoff])
    model = fit_served(spec, train)
    model.stack = fit_stack(model, valid)
    metrics = evaluate(spec, model, train, valid)
    metrics["stack"] = (
        {"coef": [round(c, 4) for c in model.stack.coef], "intercept": round(model.stack.intercept, 4),
         "note": "with BG/NBD, fitted on the validation rows these metrics are measured on (slightly optimistic; "
                 "evaluate_predictions measures it after a cutoff)"}
        if model.stack is not None else None
    )
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
    served.stack = model.stack
    metrics["train_seconds"] = round(time.monotonic() - started, 2)
    metrics["evaluation_fit_seconds"] = round(fit_seconds, 2)
    params = {
        "now": from_days(h.now).isoformat(),
        "horizon_days": spec.horizon,
        "min_feature_days": spec.min_feature_days,
        "population": spec.population,
        "train_cutoffs": [day_text(c) for c in plan.train_cutoffs],
        "validation_cutoff": day_text(plan.validation_cutoff),
        "refit_cutoffs": [day_text(c) for c in plan.refit_cutoffs],
        "n_train": train.size,
        "n_validation": valid.size,
        "n_refit": full.size,
        "positives_train": int(train.bought.sum()),
        "positives_validation": int(valid.bought.sum()),
        "features": list(FEATURES),
        "model": _model_text(spec, served, train.size),
        "seed": SEED,
        "served_model": "refitted on every window up to the validation cutoff (labels end at `now`)",
    }
    return served, metrics, params


def _model_text(spec: TargetSpec, served: ServedModel, rows: int) -> str:
    calibrated = f" + CalibratedClassifierCV(cv=3, {'isotonic' if rows >= ISOTONIC_FROM else 'sigmoid'})"
    if spec.kind == "gap":
        return "HistGradientBoosting (absolute error)"
    if spec.kind == "value" and served.value_loss == "poisson":
        return "HistGradientBoosting (Poisson deviance, log link)"
    if spec.kind == "value":
        return f"hurdle: HistGradientBoosting{calibrated} x HistGradientBoosting (log1p revenue)"
    return "HistGradientBoosting" + calibrated


def train_predictions(
    now: datetime | None = None,
    targets: Sequence[str] | None = None,
    *,
    activate_new: bool = True,
    job_id: int | None = None,
    progress: Progress = NO_PROGRESS,
) -> PredictionsReport:
    """Train, evaluate, record and (if better) activate each target, then store every customer's predictions
    from the active version. A refused target does not stop the others.

    Progress counts one unit per target, with `trained`, `refused` and `scored` (predictions stored) counters.
    """
    names = check_targets(targets)
    progress.set_total(len(names))
    progress.stage("reading the history")
    moment = now or default_now()
    history = load_history(moment)
    cache: FeatureCache = {}
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    outcomes: list[TargetOutcome] = []
    for name in names:
        spec = TARGETS[name]
        started = time.monotonic()
        progress.stage(f"training {name}")
        try:
            served, metrics, params = train_target(spec, history, cache)
        except NotEnoughHistory as exc:
            outcomes.append(TargetOutcome(name, "refused", str(exc), seconds=round(time.monotonic() - started, 2)))
            progress.advance(1, trained=0, refused=1, scored=0)
            continue
        except (ValueError, FloatingPointError, OverflowError) as exc:  # a history the estimator cannot fit
            logger.exception("prediction target %s could not be fitted", name)
            reason = f"{name}: could not be fitted on this history ({type(exc).__name__}: {exc})"
            outcomes.append(TargetOutcome(name, "refused", reason, seconds=round(time.monotonic() - started, 2)))
            progress.advance(1, trained=0, refused=1, scored=0)
            continue
        version_name = f"{name}-{moment.date().isoformat()}-{stamp}"
        folder = save_model(served, name, version_name)
        version = record_version(name, version_name, path=folder, base_model="HistGradientBoosting (scikit-learn)",
                                 params=params, metrics=metrics, job_id=job_id)
        activated = compare_and_activate(version, metrics, params) if activate_new else False
        serving_version = active_version(name)
        serving_model = served if serving_version and serving_version.pk == version.pk else (
            load_model(serving_version) if serving_version else None)
        scored = 0
        if serving_version is not None and serving_model is not None:
            progress.stage(f"scoring customers for {name}")
            scored = score_customers(spec, serving_model, serving_version, history, cache)
        outcomes.append(TargetOutcome(
            name, "trained", version=version.name, activated=activated,
            serving=serving_version.name if serving_version and serving_model else "", metrics=metrics,
            params=params, scored=scored, seconds=round(time.monotonic() - started, 2),
        ))
        progress.advance(1, trained=1, refused=0, scored=scored)
    return PredictionsReport(moment.isoformat(), outcomes)
