"""`manage.py prepare_models`: make the default models ready offline, then record the generation version.

The file work is in `inference.prepare` (no Django models); this command adds the database side: a
`ModelVersion` row for the converted generation model, active when no other generation version is.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from catalog import model_versions
from catalog.models import ModelRole, ModelVersion
from inference import prepare
from inference.loading import ModelNotAvailable


class Command(BaseCommand):
    help = (
        "Make the default models ready offline: check the packaged embedding model; join the GGUF parts of "
        "the generation model, check its sha256 and convert it once to a bf16 safetensors folder under "
        "var/models/generation/. Skips what is already ready."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", choices=["embedding", "generation"], help="Prepare one role only.")
        parser.add_argument("--force", action="store_true", help="Join and convert again even when ready.")
        parser.add_argument(
            "--verify", action="store_true", help="Re-hash every prepared file (default: compare sizes only)."
        )
        parser.add_argument(
            "--keep-gguf", action="store_true", help="Keep the joined GGUF (about 490 MB) after converting."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        only = options["only"]
        progress = int(options["verbosity"]) > 0
        var_dir = Path(settings.VAR_DIR)
        try:
            if only in (None, "embedding"):
                self._report(prepare.prepare_embedding())
            if only in (None, "generation"):
                result = prepare.prepare_generation(
                    var_dir,
                    force=options["force"],
                    verify=options["verify"],
                    keep_gguf=options["keep_gguf"],
                    progress=progress,
                )
                self._report(result)
                self._record_generation(result)
        except (prepare.PrepareError, ModelNotAvailable) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"done in {time.perf_counter() - started:.2f} s")

    def _report(self, result: prepare.Prepared) -> None:
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
        self.stdout.write(
            self.style.SUCCESS(f"{result.role}: {result.action}")
            + f" {result.path} ({result.seconds:.2f} s{'; ' + steps if steps else ''})"
        )
        if result.details.get("kept_gguf"):
            self.stdout.write(f"  kept {result.details['kept_gguf']}")

    def _record_generation(self, result: prepare.Prepared) -> None:
        if ModelVersion._meta.db_table not in connection.introspection.table_names():
            # a fresh database (e.g. `make test` before anything migrated it): the files are ready;
            # the version is recorded on the next run after `migrate`, or when first used
            self.stdout.write("  model version: not recorded (the database is not migrated yet)")
            return
        manifest = prepare.read_manifest(result.path) or {}
        version = model_versions.record_version(
            ModelRole.GENERATION,
            prepare.GENERATION_VERSION_NAME,
            path=result.path.resolve(),
            base_model=prepare.GENERATION_BASE_MODEL,
            params={
                "source_sha256": manifest.get("source_sha256", prepare.GGUF_SHA256),
                "source_parts": manifest.get("source_parts", []),
                "dtype": manifest.get("dtype", "bfloat16"),
            },
        )
        if model_versions.active_version(ModelRole.GENERATION) is None:
            model_versions.activate(version)
        self.stdout.write(f"  model version: {version}")
