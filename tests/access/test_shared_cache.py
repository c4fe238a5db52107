"""Throttle state lives in a cache every process shares: Redis when REDIS_URL is a Redis, else the
database (its table made by the access app's migrations); a process's own memory only with DEBUG on.

A cache handler built anew stands for another gunicorn worker: with the shared caches it still sees the
requests counted before, with a process's memory it sees none (the finding)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.local import Local
from django.core.cache import caches
from django.core.cache.backends import locmem
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core import embedded
from tests.catalog.builders import product

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = "/api/v1/products/"


def cache_backend(field: str = "BACKEND", **env: str) -> str:
    """The default cache's backend of settings loaded with `env` (a fresh process, as in production)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_URL", "DEBUG", "SECRET_KEY"}}
    clean |= {"DATABASE_URL": "postgres://u:p@127.0.0.1:1/x", "DJANGO_SETTINGS_MODULE": "ecommarketing.settings",
              **env}
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.CACHES['default'][{field!r}])"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
    )
    return result.stdout.strip() or result.stderr.strip().splitlines()[-1]


def test_the_cache_is_shared_by_default_and_never_a_process_memory_in_production() -> None:
    production = {"DEBUG": "0", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "shop.example.com"}
    assert cache_backend(**production) == "django.core.cache.backends.db.DatabaseCache"
    assert cache_backend(**production, REDIS_URL="redis://127.0.0.1:6379/0") == (
        "django.core.cache.backends.redis.RedisCache"
    )
    # the broker's database number + 1: clearing the cache (FLUSHDB) never drops the queue
    assert cache_backend("LOCATION", **production, REDIS_URL="redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert cache_backend(**production, REDIS_URL="amqp://127.0.0.1//") == "django.core.cache.backends.db.DatabaseCache"
    refused = cache_backend(**production, CACHE_URL="locmem://")
    assert "ImproperlyConfigured" in refused and "CACHE_URL" in refused
    assert cache_backend(CACHE_URL="locmem://") == "django.core.cache.backends.locmem.LocMemCache"  # DEBUG on


def throttled_after_another_worker_starts(settings: Any, monkeypatch: pytest.MonkeyPatch, cache: dict[str, Any],
                                          client: APIClient) -> int:
    """Two requests within a rate of 2/minute, then the third as another worker would see it."""
    settings.CACHES = {"default": cache}
    caches["default"].clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "2/minute"})
    product()
    assert [client.get(PRODUCTS).status_code for _ in range(2)] == [200, 200]
    # another worker: its own cache connections and a fresh process's empty memory
    setattr(caches, "_connections", Local())  # noqa: B010  (the settings fixture resets it after the test)
    monkeypatch.setattr(locmem, "_caches", {})
    monkeypatch.setattr(locmem, "_expire_info", {})
    monkeypatch.setattr(locmem, "_locks", {})
    return int(client.get(PRODUCTS).status_code)


def test_a_process_memory_forgets_what_another_worker_counted(
    settings: Any, monkeypatch: pytest.MonkeyPatch, manager_client: APIClient
) -> None:
    memory = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "worker"}
    assert throttled_after_another_worker_starts(settings, monkeypatch, memory, manager_client) == 200


def test_the_database_cache_is_shared_by_workers(
    settings: Any, monkeypatch: pytest.MonkeyPatch, manager_client: APIClient
) -> None:
    database = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ecom_cache"}
    assert throttled_after_another_worker_starts(settings, monkeypatch, database, manager_client) == 429


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    try:
        process, url = embedded.start_redis(tmp_path / "redis")
    except RuntimeError as exc:
        pytest.skip(f"no Redis to test with: {exc}")
    yield url
    process.terminate()
    process.wait(10)


def test_the_redis_cache_is_shared_by_workers(
    settings: Any, monkeypatch: pytest.MonkeyPatch, manager_client: APIClient, redis_url: str
) -> None:
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    assert throttled_after_another_worker_starts(settings, monkeypatch, redis, manager_client) == 429
