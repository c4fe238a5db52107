"""Which model version serves each role, and the rule for replacing it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ModelRole, ModelVersion

VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # becomes a folder name: no path tricks


def models_dir(role: str) -> Path:
    """Where trained weights of `role` are written: var/models/<role>/<version name>/."""
    path = Path(settings.VAR_DIR) / "models" / role
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_version_name(prefix: str) -> str:
    """<prefix>-<date>-<time>, e.g. tagger-20250101-120000."""
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}"


def check_new_version_name(role: ModelRole | str, name: str, error: type[Exception], kind: str) -> None:
    """Refuse (with `error`) a name that cannot be a folder or that a version of `role` already has;
    `kind` names the model in the message ("a sentiment model")."""
    if not VERSION_NAME.match(name):
        raise error(f"version name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)")
    if ModelVersion.objects.filter(role=role, name=name).exists():
        raise error(f"{kind} named {name!r} exists already; choose another --name")


def new_version_name(role: ModelRole | str, kind: str) -> Callable[[Any], None]:
    """A job parameter check (`@job_kind(checks=...)`): a `name` given must be a new, folder-safe version
    name, so `{"name": "../../outside"}` is refused when the job is created."""

    def check(name: Any) -> None:
        if name is not None:
            check_new_version_name(role, str(name), ValueError, kind)

    return check


def active_version(role: ModelRole | str, language: str = "") -> ModelVersion | None:
    """The version serving `role` (for sentiment: serving reviews in `language`)."""
    return ModelVersion.objects.filter(role=role, language=language, is_active=True).first()


def record_version(
    role: ModelRole | str,
    name: str,
    *,
    path: str | Path = "",
    base_model: str = "",
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    job_id: int | None = None,
    language: str = "",
) -> ModelVersion:
    version, _ = ModelVersion.objects.update_or_create(
        role=role,
        name=name,
        defaults={
            "language": language,
            "path": str(path),
            "base_model": base_model,
            "params": params or {},
            "metrics": metrics or {},
            "job_id": job_id,
        },
    )
    return version


def activate(version: ModelVersion) -> None:
    """Make `version` the one serving its role and language (the previous one stays, inactive, for rollback)."""
    with transaction.atomic():
        ModelVersion.objects.filter(role=version.role, language=version.language, is_active=True).exclude(
            pk=version.pk
        ).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True


def activate_if_better(version: ModelVersion, metric: str, candidate_score: float, active_score: float | None) -> bool:
    """Activate when there is no active version, or the candidate scores higher on `metric` measured on
    the same validation data as the active one (the caller measures both)."""
    if active_score is None or candidate_score > active_score:
        activate(version)
        return True
    return False
