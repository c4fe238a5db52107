"""Request and job ids in the logs: bound for a request, returned in X-Request-ID, carried into the job
that the request started (in the worker through a message header), JSON or plain lines."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.test import Client
from rest_framework.test import APIClient

from core import embedded, logs
from ecommarketing.celery import app as celery_app
from jobs.models import Job, JobStatus
from jobs.runner import start_job


def _records_with(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if text in record.getMessage()]


@pytest.mark.django_db
def test_a_request_log_line_carries_the_client_request_id(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/no-such-resource/", HTTP_X_REQUEST_ID="req-abc.123")

    assert response.status_code == 404 and response["X-Request-ID"] == "req-abc.123"
    [record] = _records_with(caplog, "Not Found")
    assert record.request_id == "req-abc.123"  # type: ignore[attr-defined]
    assert logs.request_id.get() is None  # cleared when the response closed: nothing leaks to the next


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["", "two words", "x" * 200, "evil\nFAKE LOG LINE"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client: Client, given: str) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_a_job_started_from_a_request_logs_the_request_id_and_its_job_id(
    manager_client: APIClient, run_on_commit: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = manager_client.post(
            "/api/v1/jobs/", {"kind": "ping", "params": {"steps": 1, "fail": True}}, format="json",
            HTTP_X_REQUEST_ID="req-job-7",
        )

    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.FAILED  # eager: the task ran inside the request
    [failure] = _records_with(caplog, f"job {job.pk} (ping) failed")
    assert failure.request_id == "req-job-7" and failure.job_id == job.pk  # type: ignore[attr-defined]


def test_a_published_task_carries_the_request_id_into_the_worker() -> None:
    """The worker side: `before_task_publish` writes the header, `task_prerun` binds it, `task_postrun`
    forgets it (what a worker process does with a message from the web process)."""
    headers: dict[str, Any] = {}
    with logs.bound(request_id="req-from-web"):
        logs.publish_request_id(headers=headers)
    assert headers == {"request_id": "req-from-web"}

    task = current_app.tasks["jobs.run_job"]
    task.push_request(id="task-1", **headers)
    try:
        logs.bind_task_request_id(task_id="task-1", task=task)
        assert logs.request_id.get() == "req-from-web"
        logs.unbind_task_request_id(task_id="task-1")
        assert logs.request_id.get() is None
    finally:
        task.pop_request()


def test_signals_are_connected_on_the_celery_app() -> None:
    from celery.signals import before_task_publish, task_prerun

    def connected(signal: Any) -> list[Any]:
        return [r() if isinstance(r, weakref.ReferenceType) else r for _, r in signal.receivers]

    assert logs.publish_request_id in connected(before_task_publish)
    assert logs.bind_task_request_id in connected(task_prerun)


def _format(log_format: str) -> str:
    config = logs.logging_config(log_format, "INFO")
    formatter = logging.config.DictConfigurator(config).configure_formatter(config["formatters"][log_format])
    with logs.bound(request_id="r-1", job_id=42):
        record = logging.getLogger("shop").makeRecord("shop", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    return formatter.format(record)


def test_json_lines_carry_the_ids() -> None:
    line = json.loads(_format("json"))
    assert line["message"] == "hello you" and line["request_id"] == "r-1" and line["job_id"] == 42
    assert line["level"] == "INFO" and line["logger"] == "shop" and "time" in line


def test_plain_lines_show_the_ids_in_brackets() -> None:
    assert _format("plain").endswith("INFO shop [request_id=r-1 job_id=42]: hello you")


@pytest.fixture
def json_worker(tmp_path: Path) -> Iterator[Callable[[], list[str]]]:
    """A real Celery worker writing JSON logs; calling the fixture's value stops it and returns its lines."""
    from tests.core.test_services import ROOT, _switch_broker, database_url

    process_redis, url = embedded.start_redis(tmp_path / "redis")
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": url, "CELERY_TASK_ALWAYS_EAGER": "0",
           "LOG_FORMAT": "json"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", "default", "--pool", "solo",
         "-n", f"logs-{os.getpid()}@%h"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    previous = {"broker_url": celery_app.conf.broker_url, "task_always_eager": celery_app.conf.task_always_eager}
    _switch_broker(broker_url=url, task_always_eager=False)

    def stop() -> list[str]:
        if worker.returncode is None:
            worker.terminate()
        output, _ = worker.communicate(timeout=30)
        return (output or "").splitlines()

    try:
        yield stop
    finally:
        _switch_broker(**previous)
        stop()
        process_redis.terminate()
        process_redis.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_the_request_id_of_the_request_that_started_the_job(
    json_worker: Callable[[], list[str]],
) -> None:
    from tests.core.test_services import _wait_for

    with logs.bound(request_id="req-through-redis"):
        job = start_job("ping", {"steps": 1, "fail": True})
    assert _wait_for(job).status == JobStatus.FAILED

    records = [json.loads(line) for line in json_worker() if line.startswith("{")]
    [failure] = [r for r in records if r.get("message") == f"job {job.pk} (ping) failed"]
    assert failure["request_id"] == "req-through-redis" and failure["job_id"] == job.pk
