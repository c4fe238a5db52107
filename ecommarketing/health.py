"""Liveness and readiness for load balancers and orchestrators.

`/healthz` says the process answers (no dependency is touched, so a database outage does not get every web
process restarted); `/readyz` says whether it can do its work: the database answers a query and the broker
accepts a connection, each named with its state, 503 when one is down.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

BROKER_TIMEOUT = 2  # seconds: a probe must answer well inside an orchestrator's own timeout


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver or network error means "not ready"; the reason is reported
        connection.close()  # a broken connection must not be reused by the next request
        return f"down: {type(exc).__name__}"


def _broker() -> str:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("memory://"):
        return "not used (tasks run in the web process)"
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT) as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
        return "ok"
    except Exception as exc:  # kombu raises the transport's own errors: any of them means "not ready"
        return f"down: {type(exc).__name__}"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Any] = {"database": _database(), "broker": _broker()}
    ready = all(not str(state).startswith("down") for state in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503)
