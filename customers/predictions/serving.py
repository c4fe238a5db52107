"""Versions and stored predictions: save and load a served model, activate a new version only when it is
better, and score every customer of a target's population with the version that serves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.db import transaction
from django.utils import timezone

from catalog.model_versions import activate, activate_if_better, active_version, models_dir
from catalog.models import ModelVersion

from ..models import Customer, CustomerPrediction
from .drivers import groups_for, occlusion_effects, reference_values, top_drivers
from .estimators import ServedModel
from .features import FEATURES, FeatureCache, cached_features, matrix, population
from .history import History, from_days
from .targets import TargetSpec

UPSERT_BATCH = 5000  # prediction rows per INSERT ... ON CONFLICT (a few hundred kB of parameters)
SCORE_BATCH = 50_000  # customers per predict call (a 50k x 30 float matrix is 12 MB)


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


def compare_and_activate(version: ModelVersion, metrics: dict[str, Any], params: dict[str, Any]) -> bool:
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
                    cache: FeatureCache) -> int:
    """Predict for every customer in the target's population as of `now`, with the features that moved each
    prediction most (`drivers`), and upsert the rows in bulk;
    predictions of this target left from an older version (customers no longer in it) are deleted. Erased
    customers' anonymised purchases still train the models, but they get no prediction."""
    seen, f = cached_features(h, h.now, cache)
    base = "buyers" if spec.name == "next_order" else spec.population
    rows = population(TargetSpec(spec.name, spec.horizon, 0, base, spec.kind, ""), seen, f)
    now_moment = from_days(h.now)
    computed = timezone.now()
    erased = set(Customer.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    # Drivers are measured against the median customer of this scoring (the repeat buyers for next_order,
    # the only ones its model scores).
    modelled = rows[f["orders"][rows] >= 2] if spec.name == "next_order" else rows
    reference = reference_values([f[name][modelled] for name in model.features])
    groups = groups_for(model.features)
    objects: list[CustomerPrediction] = []
    for start in range(0, len(rows), SCORE_BATCH):
        chunk = rows[start:start + SCORE_BATCH]
        recency = f["recency_days"][chunk]
        X = matrix(f, chunk, model.features)
        effects = np.zeros((len(chunk), len(groups)))
        if spec.name == "next_order":
            pred = np.full(len(chunk), np.nan)
            repeat = f["orders"][chunk] >= 2
            pred[repeat] = model.predict(X[repeat], recency[repeat])
            effects[repeat] = occlusion_effects(model, X[repeat], recency[repeat], reference, pred[repeat],
                                                 groups)
            fallback = model.fallback_gap or 0.0
            pred[~repeat] = np.clip(fallback, recency[~repeat], recency[~repeat] + model.horizon)
        else:
            pred = model.predict(X, recency)
            effects = occlusion_effects(model, X, recency, reference, pred, groups)
        for i, pk in enumerate(h.customer_pks[chunk]):
            if int(pk) in erased:
                continue
            row = CustomerPrediction(customer_id=int(pk), target=spec.name, model_version=version,
                                     computed_at=computed,
                                     drivers=top_drivers(effects[i], X[i], reference, model.features, groups))
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
                update_fields=["probability", "value", "predicted_at", "model_version", "computed_at", "drivers"],
            )
        CustomerPrediction.objects.filter(target=spec.name).exclude(computed_at=computed).delete()
    return len(objects)
