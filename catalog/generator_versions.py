"""Which `ModelVersion` a generated text is traced to, for every generator (product summaries, campaign copy):
a person who reads a generated text can always see the model behind it."""

from __future__ import annotations

from pathlib import Path

from inference.generation import Generator

from .models import ModelRole, ModelVersion


def version_for(generator: Generator) -> ModelVersion:
    """The ModelVersion an output is traced to: the row whose path is the generator's folder (as
    `prepare_models` records it), else one named after the generator (created, inactive, for servers)."""
    path = getattr(generator, "path", None)
    if path is not None:
        found = (
            ModelVersion.objects.filter(role=ModelRole.GENERATION, path=str(Path(path).resolve()))
            .order_by("-is_active", "-created_at")
            .first()
        )
        if found is not None:
            return found
    version, _ = ModelVersion.objects.get_or_create(
        role=ModelRole.GENERATION,
        name=generator.name[:100],
        defaults={
            "path": str(path or getattr(generator, "base_url", ""))[:500],
            "params": {"backend": type(generator).__name__},
        },
    )
    return version
