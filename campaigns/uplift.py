"""Uplift models: who an offer changes, learnt from a campaign's experiment (offer arms against its control).

Training rows (`training_data`): everyone assigned to the control arm (the holdout when there is one) or an
offer arm (all non-control arms pooled, or the one `arm` named), converted = a purchase inside their
attribution window (`outcomes.customer_conversions`, the same attribution as the results page), features
= `customers.predictions` features as of the experiment's start (so nothing the offer caused leaks in;
customers with no event before it get an all-missing row, the trees' own branch).

`train_uplift` splits off a held-out 30% (stratified, seed 0), fits the T-learner of `uplift_stats` on the
rest, reports Qini / AUUC / the top 10/20/30% on the held-out part with n treated / control and the sample
needed, saves the model as a `ModelVersion` of role `uplift` (var/models/uplift/<name>/model.joblib) linked
to the experiment by an `UpliftModel`, activates it, and scores every customer (features as of now) into
`UpliftScore`, which the audience filter `uplift_top_percent` reads. An experiment too small to say
anything is refused with the sample it would need (`UpliftDataError`), before anything is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.db import transaction
from django.utils import timezone

from catalog.model_versions import (
    activate,
    active_version,
    check_new_version_name,
    default_version_name,
    models_dir,
    record_version,
)
from catalog.models import ModelRole, ModelVersion
from core.progress import NO_PROGRESS, Progress
from customers.models import Customer
from customers.predictions import FEATURES, default_now, features_at, load_history
from customers.predictions.features import matrix

from . import uplift_stats as us
from .models import Experiment, UpliftModel, UpliftScore
from .outcomes import customer_conversions
from .uplift_stats import UpliftDataError

ROLE = ModelRole.UPLIFT
SCORE_BATCH = 5000  # score rows per INSERT ... ON CONFLICT
BASE_MODEL = "scikit-uplift TwoModels (T-learner) + HistGradientBoostingClassifier"


@dataclass
class UpliftData:
    customer_ids: np.ndarray
    X: np.ndarray
    treated: np.ndarray
    converted: np.ndarray
    control_arm: str
    treated_arms: list[str]
    as_of: datetime


def feature_matrix(customer_ids: np.ndarray, moment: datetime) -> np.ndarray:
    """`customers.predictions` features of these customers as of `moment` (rows of NaN for customers
    without any event before it)."""
    h = load_history(moment)
    _, f = features_at(h, h.now)
    X = np.full((len(customer_ids), len(FEATURES)), np.nan)
    if h.n and len(customer_ids):
        pos = np.clip(np.searchsorted(h.customer_pks, customer_ids), 0, h.n - 1)
        found = h.customer_pks[pos] == customer_ids
        X[found] = matrix(f, pos[found])
    return X


def get_experiment(experiment_id: Any) -> Experiment:
    """The experiment, or UpliftDataError naming the id (the job's parameter check and the job use it)."""
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, int):
        raise UpliftDataError(f"must be an experiment id (an integer), not {experiment_id!r}")
    experiment = Experiment.objects.filter(pk=experiment_id).select_related("campaign").first()
    if experiment is None:
        raise UpliftDataError(f"experiment {experiment_id} does not exist")
    return experiment


def _needed_text(experiment: Experiment, base_rate: float, assumed: float | None = None) -> str:
    assumed = experiment.minimum_detectable_effect if assumed is None else assumed
    needed = us.sample_needed(base_rate, assumed, alpha=experiment.alpha, power=experiment.power)
    if needed is None:
        return "the sample needed cannot be computed for this base rate"
    return (f"about {needed} customers per arm are needed to see an uplift of "
            f"{assumed:.1%} over a base rate of {base_rate:.1%} in the top "
            f"{us.JUDGED_FRACTION:.0%} of a {us.TEST_FRACTION:.0%} held-out part (alpha {experiment.alpha}, "
            f"power {experiment.power})")


def training_data(experiment: Experiment, arm: str | None = None) -> UpliftData:
    """The rows an uplift model learns from; UpliftDataError when the experiment cannot give them."""
    arms = list(experiment.arms.order_by("key"))
    control = next((a for a in arms if a.is_control), None)
    if control is None:
        raise UpliftDataError(f"experiment {experiment.pk} has no control arm: mark the holdout (or one arm) as "
                              "the control")
    offered = [a for a in arms if not a.is_control and (arm is None or a.key == arm)]
    if not offered:
        others = [a.key for a in arms if not a.is_control]
        if arm is not None:
            raise UpliftDataError(f"arm {arm!r} is not an offer arm of experiment {experiment.pk}; offer arms: "
                                  f"{others or 'none'}")
        raise UpliftDataError(f"experiment {experiment.pk} has only its control arm {control.key!r}: no offer to "
                              "compare with")
    treated_ids = {a.pk for a in offered}
    rows = [r for r in customer_conversions(experiment) if r[1] == control.pk or r[1] in treated_ids]
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    treated = np.array([r[1] in treated_ids for r in rows], dtype=int)
    converted = np.array([r[2] for r in rows], dtype=int)
    if not len(rows):
        raise UpliftDataError(f"experiment {experiment.pk} has no customers assigned to {control.key!r} or the "
                              f"offer arm(s) yet; {_needed_text(experiment, math.nan)}")
    if not converted.any():
        raise UpliftDataError(
            f"experiment {experiment.pk} has no conversions in its attribution window among {len(rows)} "
            f"customers: nothing to learn; {_needed_text(experiment, 0.0)}"
        )
    as_of = experiment.started_at or timezone.now()
    return UpliftData(ids, feature_matrix(ids, as_of), treated, converted, control.key, [a.key for a in offered],
                      as_of)


def save_model(model: us.UpliftModel, name: str) -> Path:
    folder = models_dir(ROLE) / name
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib")
    return folder


def load_model(version: ModelVersion) -> us.UpliftModel | None:
    """The saved model of a version, or None when its files are gone or were made for other features."""
    try:
        model = joblib.load(Path(version.path) / "model.joblib")
    except Exception:
        return None
    if not isinstance(model, us.UpliftModel) or model.features != list(FEATURES):
        return None
    return model


def train_uplift(experiment_id: int, *, arm: str | None = None, name: str | None = None, job_id: int | None = None,
                 progress: Progress = NO_PROGRESS) -> dict[str, Any]:
    """Train, evaluate on the held-out part, store and score (the module docstring); returns the report."""
    progress.set_total(4)
    experiment = get_experiment(experiment_id)
    name = name or default_version_name(f"uplift-e{experiment.pk}")
    check_new_version_name(ROLE, name, UpliftDataError, "an uplift model")
    progress.stage("training rows")
    data = training_data(experiment, arm)
    progress.advance(1, rows=len(data.customer_ids))
    train, test = us.split(data.treated, data.converted)
    base_rate = float(data.converted[data.treated == 0].mean()) if (data.treated == 0).any() else 0.0
    treated_rate = float(data.converted[data.treated == 1].mean()) if (data.treated == 1).any() else 0.0
    assumed = us.plausible_uplift(experiment.minimum_detectable_effect, treated_rate, base_rate)
    try:
        us.check_trainable(data.treated[train], data.converted[train])
    except UpliftDataError as exc:
        raise UpliftDataError(f"experiment {experiment.pk} is too small for an uplift model ({exc} in the "
                              f"training part); {_needed_text(experiment, base_rate, assumed)}") from exc
    progress.stage("fitting")
    model = us.fit_uplift(data.X[train], data.treated[train], data.converted[train], FEATURES)
    report = us.evaluate(data.converted[test], model.predict(data.X[test]), data.treated[test])
    progress.advance(1)
    needed = us.sample_needed(base_rate, assumed, alpha=experiment.alpha, power=experiment.power)
    smaller = min(int(data.treated.sum()), int((1 - data.treated).sum()))
    enough = needed is not None and smaller >= needed
    report.update({
        "experiment": experiment.pk, "control_arm": data.control_arm, "treated_arms": data.treated_arms,
        "features_as_of": data.as_of.isoformat(), "n_treated_total": int(data.treated.sum()),
        "n_control_total": int((1 - data.treated).sum()), "held_out_fraction": us.TEST_FRACTION,
        "control_rate": base_rate, "treated_rate": treated_rate,
        "assumed_uplift": assumed, "sample_needed_per_arm": needed, "enough_data": enough,
        "verdict": ("enough customers to judge the top slices" if enough else
                    f"indicative only: {_needed_text(experiment, base_rate, assumed)}; the smaller arm has {smaller}"),
    })
    folder = save_model(model, name)
    progress.stage("storing")
    with transaction.atomic():
        version = record_version(
            ROLE, name, path=folder, base_model=BASE_MODEL, metrics=report, job_id=job_id,
            params={"experiment": experiment.pk, "arm": arm, "seed": us.SEED, "test_fraction": us.TEST_FRACTION,
                    "n_train": len(train), "n_held_out": len(test), "features": list(FEATURES)},
        )
        uplift_model = UpliftModel.objects.create(experiment=experiment, version=version,
                                                  treated_arms=data.treated_arms, control_arm=data.control_arm)
        activate(version)
    progress.advance(1)
    progress.stage("scoring")
    scored = score_customers(uplift_model, model)
    progress.advance(1, scored=scored)
    return {"version": name, "uplift_model": uplift_model.pk, "scored": scored,
            **{k: v for k, v in report.items() if k != "qini_curve"}}


def score_customers(uplift_model: UpliftModel, model: us.UpliftModel, now: datetime | None = None) -> int:
    """Every customer's predicted uplift (features as of `now`) under `uplift_model`; erased customers are
    left out. Replaces that model's earlier scores."""
    moment = now or default_now()
    ids = np.array(list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", flat=True)),
                   dtype=np.int64)
    uplift = model.predict(feature_matrix(ids, moment)) if len(ids) else np.empty(0)
    computed = timezone.now()
    rows = [UpliftScore(model=uplift_model, customer_id=int(c), uplift=float(u), computed_at=computed)
            for c, u in zip(ids, uplift, strict=True)]
    with transaction.atomic():
        UpliftScore.objects.filter(model=uplift_model).delete()
        UpliftScore.objects.bulk_create(rows, batch_size=SCORE_BATCH)
    return len(rows)


def uplift_model_named(name: str | None) -> UpliftModel:
    """The uplift model of version `name`, or of the active uplift version when `name` is None;
    UpliftDataError with the reason when there is none."""
    if name is None:
        version = active_version(ROLE)
        if version is None:
            raise UpliftDataError("no uplift model exists yet: train one from an experiment with an offer arm and "
                                  "a holdout (job train_uplift)")
    else:
        version = ModelVersion.objects.filter(role=ROLE, name=name).first()
        if version is None:
            known = list(ModelVersion.objects.filter(role=ROLE).values_list("name", flat=True)[:5])
            raise UpliftDataError(f"no uplift model named {name!r}; known: {known or 'none (train one first)'}")
    found = UpliftModel.objects.filter(version=version).first()
    if found is None:
        raise UpliftDataError(f"uplift model {version.name!r} is not linked to an experiment")
    return found


def latest_for(experiment: Experiment) -> UpliftModel | None:
    return UpliftModel.objects.filter(experiment=experiment).select_related("version").first()


def uplift_summary(experiment: Experiment) -> dict[str, Any] | None:
    """The experiment's latest uplift model for the API: version, arms and the held-out report (with the
    Qini curve); None when it has none."""
    latest = latest_for(experiment)
    if latest is None:
        return None
    return {"version": latest.version.name, "active": latest.version.is_active,
            "created_at": latest.created_at.isoformat(), "control_arm": latest.control_arm,
            "treated_arms": latest.treated_arms, "report": latest.version.metrics}
