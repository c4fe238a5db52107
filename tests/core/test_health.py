"""`/healthz` and `/readyz`: no login, no dependency for liveness, each dependency named for readiness."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


def test_healthz_answers_without_login_or_database(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_names_each_dependency(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready", "database": "ok", "broker": "not used (tasks run in the web process)",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1//"])
def test_readyz_is_503_naming_a_broker_that_is_down(client: Client, settings: Any, url: str) -> None:
    settings.CELERY_BROKER_URL = url
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["database"] == "ok" and body["broker"].startswith("down: ")


def test_probes_take_get_only(client: Client) -> None:
    assert client.post("/healthz").status_code == 405
