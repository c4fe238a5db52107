"""Fixtures the catalog tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference import registry


@pytest.fixture
def isolated_models(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Model folders and uploads under a temporary var/, no sentiment folder from settings, and no model
    loaded by an earlier test: what serves is what the test trains or records."""
    settings.VAR_DIR = tmp_path / "var"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SENTIMENT_MODEL = ""
    registry.clear()
    yield
    registry.clear()
