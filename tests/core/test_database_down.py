"""The database unreachable for a while: the web app answers a short 503 (JSON under /api/, HTML
elsewhere), a logged-in admin is not shown as logged out, /readyz names the database, and everything
answers again when the database returns, without a restart.

The database is "stopped" for this process only: the default connection is pointed at a closed port on
127.0.0.1 (stopping the shared embedded PostgreSQL would break the other tests), then restored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from core.embedded import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def database_down() -> Iterator[None]:
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": str(free_port())})
    connection.settings_dict.setdefault("OPTIONS", {})
    connection.settings_dict["OPTIONS"] = {**saved.get("OPTIONS", {}), "connect_timeout": 2}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_the_api_answers_503_json_and_recovers(manager_client: Any) -> None:
    with database_down():
        response = manager_client.get("/api/v1/customers/")
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable for a moment; please try again shortly."}
    assert response["Retry-After"]
    assert manager_client.get("/api/v1/customers/").status_code == 200  # back, without a restart


def test_the_admin_answers_a_short_503_page_not_the_login_page(manager_web: Client) -> None:
    with database_down():
        response = manager_web.get("/admin/")
    assert response.status_code == 503  # not a redirect to the login page: nobody was logged out
    page = response.content.decode()
    assert "Temporarily unavailable" in page and "Traceback" not in page and len(page) < 1000
    assert response["Content-Type"].startswith("text/html")
    assert manager_web.get("/admin/").status_code == 200


def test_readyz_names_the_database_when_it_is_down(client: Client) -> None:
    with database_down():
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["database"] == "down: OperationalError"
    assert client.get("/readyz").status_code == 200
