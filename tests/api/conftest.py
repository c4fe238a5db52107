"""API test fixtures: a clean throttle cache for every test (DRF keeps request history in the cache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_throttle_history() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()
