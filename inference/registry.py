"""One loaded model per role and process, created on first use and reused (workers load once).

Callers say which weights (a folder) they want; choosing the *active* version is the caller's job
(catalog.model_versions keeps that in the database). Settings name defaults: EMBEDDING_MODEL (folder)
else the packaged MiniLM; generation from GENERATION_BASE_URL (OpenAI-compatible server) or a folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _cached(role: str, key: str, make: Callable[[], T]) -> T:
    with _lock:
        if (role, key) not in _cache:
            _cache[(role, key)] = make()
        return _cache[(role, key)]


def clear() -> None:
    """Forget loaded models (tests, or after a new version is activated in this process)."""
    with _lock:
        _cache.clear()


def _setting(name: str) -> str:
    from django.conf import settings

    return str(getattr(settings, name, "") or "")


def candidates_per_part(generator: Any) -> int:
    """Candidates sampled per part of generated text (campaign copy, product summaries): GENERATION_CANDIDATES
    when set, else by backend: 4 for a local model on CPU (a prompt is read once for all its candidates and
    a decoding step costs little more for 12 sequences than for 9), 6 on a GPU or a server."""
    configured = int(_setting("GENERATION_CANDIDATES") or 0)
    if configured > 0:
        return configured
    device = getattr(generator, "device", None)
    return 4 if device is not None and not device.is_cuda else 6


def embedder() -> Any:
    from .embedding import Embedder  # heavy (torch, transformers): loaded when a model is first asked for

    path = _setting("EMBEDDING_MODEL") or None
    return _cached("embedding", path or "default", lambda: Embedder(Path(path) if path else None))


def model_folder(role: str, path: str | Path, factory: Callable[[Path], T]) -> T:
    """A model loaded from `path` by `factory`, cached per role and folder."""
    resolved = Path(path).resolve()
    return _cached(role, str(resolved), lambda: factory(resolved))


def generator() -> Any:
    """The generation backend from settings, created once per process.

    GENERATION_BASE_URL set: an OpenAI-compatible server (GENERATION_MODEL_NAME, GENERATION_API_KEY).
    Otherwise the folder GENERATION_MODEL, else the default that `manage.py prepare_models` converts
    into var/models/generation/.
    """
    from django.conf import settings

    # heavy (torch, transformers): loaded when a generator is first asked for
    from .generation import LocalGenerator, OpenAICompatibleGenerator
    from .loading import ModelNotAvailable
    from .prepare import generation_folder

    base_url = _setting("GENERATION_BASE_URL")
    if base_url:
        model = _setting("GENERATION_MODEL_NAME")
        if not model:
            raise ModelNotAvailable(f"GENERATION_BASE_URL={base_url!r} needs GENERATION_MODEL_NAME (the served model)")
        key = _setting("GENERATION_API_KEY") or None
        return _cached("generation", f"{base_url}#{model}", lambda: OpenAICompatibleGenerator(base_url, model, key))
    path = Path(_setting("GENERATION_MODEL") or generation_folder(Path(settings.VAR_DIR))).resolve()
    if not (path / "config.json").is_file():
        raise ModelNotAvailable(
            f"no generation model in {path}: run `manage.py prepare_models` (or set GENERATION_MODEL to a "
            "model folder, or GENERATION_BASE_URL to an OpenAI-compatible server)"
        )
    return _cached("generation", str(path), lambda: LocalGenerator(path))
