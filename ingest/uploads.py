"""Where import files live when an import runs as a job, and the rule that keeps jobs inside it.

A job's parameters can come from the jobs API, so a job must not read or write any path it is
given: it reads only files under the uploads folder (MEDIA_ROOT/imports) or under a folder the
operator lists in settings.IMPORT_DIRS, and writes its errors file only into the uploads folder.
`manage.py import_data` runs in the operator's shell and reads any file the operator can.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.text import get_valid_filename


class ForbiddenPath(ValueError):
    pass


def uploads_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def readable_dirs() -> list[Path]:
    return [uploads_dir(), *(Path(p) for p in getattr(settings, "IMPORT_DIRS", []))]


def _inside(path: Path, folders: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(folder.resolve()) for folder in folders)


def in_uploads(path: str | Path) -> bool:
    return _inside(Path(path), [uploads_dir()])


def remove_files(params: dict[str, object]) -> None:
    """Delete an import's stored upload and errors file (only ever inside the uploads folder)."""
    for key in ("path", "errors_path"):
        value = params.get(key)
        if isinstance(value, str) and value and in_uploads(value):
            Path(value).unlink(missing_ok=True)


def check_job_paths(path: str, errors_path: str | None = None) -> None:
    """Refuse paths a job may not touch (see the module docstring)."""
    if not _inside(Path(path), readable_dirs()):
        allowed = ", ".join(str(p) for p in readable_dirs())
        raise ForbiddenPath(f"an import job reads files only under {allowed}, not {path}")
    if errors_path is not None and not _inside(Path(errors_path), [uploads_dir()]):
        raise ForbiddenPath(f"an import job writes its errors file only under {uploads_dir()}, not {errors_path}")


def save_upload(upload: UploadedFile) -> Path:
    """Store an uploaded file under a unique name that keeps its extension (which tells its format)."""
    storage = FileSystemStorage(location=uploads_dir())
    original = Path(upload.name or "upload").name
    try:
        safe = get_valid_filename(original)
    except SuspiciousFileOperation:
        safe = "upload"
    name = storage.save(f"{timezone.now():%Y%m%d-%H%M%S}-{safe}", upload)
    return Path(storage.path(name))


def errors_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".errors.csv")
