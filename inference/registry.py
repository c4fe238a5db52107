"""One loaded model per role and process, created on first use and reused (workers load once).

Callers say which weights (a folder) they want; choosing the *active* version is the caller's job
(catalog.model_versions keeps that in the database). Settings name defaults: EMBEDDING_MODEL (folder)
else the packaged MiniLM; generation from GENERATION_BASE_URL (OpenAI-compatible server) or a folder.

A worker serves only some roles (`serve_only`, set at its start from the queues it takes): a `default`
worker none, so a database job that asked for a model would fail with `ModelNotServedHere` instead of
quietly holding gigabytes; an `inference` worker the encoders, a `generation` worker the LLM. Loading is
thread-safe (a threads pool shares one copy): one lock per model, so one slow load blocks no other role.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

T = TypeVar("T")
_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()  # guards _cache and _loading
_loading: dict[tuple[str, str], threading.Lock] = {}  # one lock per model being loaded

# The roles of the models this module loads (catalog.active_models names the sentiment and aspect ones).
EMBEDDING = "embedding"
GENERATION = "generation"
SENTIMENT = "sentiment"
SENTIMENT_PROTOTYPES = "sentiment_prototypes"
ASPECTS = "aspects"
ENCODER_ROLES = frozenset({EMBEDDING, SENTIMENT, SENTIMENT_PROTOTYPES, ASPECTS})
GENERATION_ROLES = frozenset({GENERATION, EMBEDDING})  # copy and summaries embed to choose and check
_served: frozenset[str] | None = None  # None: every role (web, commands, tests); set by a worker at start


class ModelNotServedHere(RuntimeError):
    """A model was asked for in a process that does not serve its role (a job on the wrong queue)."""


def serve_only(roles: frozenset[str] | None) -> None:
    """Load only `roles` in this process (None: any). A worker calls this before its pool starts."""
    global _served
    _served = None if roles is None else frozenset(roles)


def served_roles() -> frozenset[str] | None:
    return _served


def loaded_roles() -> list[str]:
    """The roles with a model loaded in this process, sorted (what a worker reports about itself)."""
    with _lock:
        return sorted({role for role, _ in _cache})


def _cached(role: str, key: str, make: Callable[[], T]) -> T:
    if _served is not None and role not in _served:
        raise ModelNotServedHere(
            f"this worker does not serve the {role!r} model (it serves: {', '.join(sorted(_served)) or 'none'}); "
            "a job that needs it belongs on a model queue (`inference` or `generation`)"
        )
    with _lock:
        if (role, key) in _cache:
            return cast(T, _cache[(role, key)])
        loading = _loading.setdefault((role, key), threading.Lock())
    with loading:  # two threads asking for the same model: the second waits and gets the first's copy
        with _lock:
            if (role, key) in _cache:
                return cast(T, _cache[(role, key)])
        model = make()
        with _lock:
            _cache[(role, key)] = model
            _loading.pop((role, key), None)
        return model


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
    return _cached(EMBEDDING, path or "default", lambda: Embedder(Path(path) if path else None))


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
        return _cached(GENERATION, f"{base_url}#{model}", lambda: OpenAICompatibleGenerator(base_url, model, key))
    path = Path(_setting("GENERATION_MODEL") or generation_folder(Path(settings.VAR_DIR))).resolve()
    if not (path / "config.json").is_file():
        raise ModelNotAvailable(
            f"no generation model in {path}: run `manage.py prepare_models` (or set GENERATION_MODEL to a "
            "model folder, or GENERATION_BASE_URL to an OpenAI-compatible server)"
        )
    return _cached(GENERATION, str(path), lambda: LocalGenerator(path))
