"""What training jobs share: the folders a job may read, and staging an operator's file there.

Job parameters can come from the API, so a training job never reads an arbitrary path: only the uploads
folder (and `IMPORT_DIRS`), the rule of ingest's uploads, repeated here because catalog sits below ingest.
Each trainer passes its own error class, so its callers see the error they already handle.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def training_dirs() -> list[Path]:
    """Folders a training job may read from."""
    return [Path(settings.MEDIA_ROOT) / "imports", *(Path(p) for p in getattr(settings, "IMPORT_DIRS", []))]


def check_job_path(path: str | Path, error: type[Exception]) -> None:
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(folder.resolve()) for folder in training_dirs()):
        allowed = ", ".join(str(p) for p in training_dirs())
        raise error(f"a training job reads files only under {allowed}, not {path}")


def stage_for_job(path: str | Path, prefix: str, error: type[Exception]) -> Path:
    """Copy an operator's file into the uploads folder, where a training job may read it."""
    source = Path(path)
    if not source.is_file():
        raise error(f"cannot read {source}: no such file")
    target_dir = Path(settings.MEDIA_ROOT) / "imports"
    target_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", source.name)
    target = target_dir / f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}-{safe}"
    shutil.copyfile(source, target)
    return target
