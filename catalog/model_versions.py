"""Which model version serves each role, and the rule for replacing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from .models import ModelRole, ModelVersion


def models_dir(role: str) -> Path:
    """Where trained weights of `role` are written: var/models/<role>/<version name>/."""
    path = Path(settings.VAR_DIR) / "models" / role
    path.mkdir(parents=True, exist_ok=True)
    return path


def active_version(role: ModelRole | str) -> ModelVersion | None:
    return ModelVersion.objects.filter(role=role, is_active=True).first()


def record_version(
    role: ModelRole | str,
    name: str,
    *,
    path: str | Path = "",
    base_model: str = "",
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    job_id: int | None = None,
) -> ModelVersion:
    version, _ = ModelVersion.objects.update_or_create(
        role=role,
        name=name,
        defaults={
            "path": str(path),
            "base_model": base_model,
            "params": params or {},
            "metrics": metrics or {},
            "job_id": job_id,
        },
    )
    return version


def activate(version: ModelVersion) -> None:
    """Make `version` the one serving its role (the previous one stays, inactive, for rollback)."""
    with transaction.atomic():
        ModelVersion.objects.filter(role=version.role, is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True


def activate_if_better(version: ModelVersion, metric: str, candidate_score: float, active_score: float | None) -> bool:
    """Activate when there is no active version, or the candidate scores higher on `metric` measured on
    the same validation data as the active one (the caller measures both)."""
    if active_score is None or candidate_score > active_score:
        activate(version)
        return True
    return False
