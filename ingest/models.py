"""`Import`: the jobs of kind import_data, seen as imports (a proxy of `jobs.Job`, no table of its own).

A proxy gives the admin its own list and upload page, and its own permissions (add_import is what
lets someone upload), without copying what the job row already records.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.db import models

from jobs.models import Job

IMPORT_JOB_KIND = "import_data"


class ImportManager(models.Manager["Import"]):
    def get_queryset(self) -> models.QuerySet[Import]:
        return super().get_queryset().filter(kind=IMPORT_JOB_KIND)


class Import(Job):
    objects = ImportManager()  # type: ignore[misc]

    class Meta:
        proxy = True
        verbose_name = "import"
        verbose_name_plural = "imports"

    def __str__(self) -> str:
        return f"{self.import_kind} from {self.file_name} (#{self.pk})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = IMPORT_JOB_KIND
        super().save(*args, **kwargs)

    @property
    def import_kind(self) -> str:
        return str(self.params.get("kind", ""))

    @property
    def file_name(self) -> str:
        """The name the file was uploaded with (stored files get a unique prefix)."""
        return str(self.params.get("file_name") or PurePath(str(self.params.get("path", ""))).name)
