"""The jobs API end to end: start (202), run on commit, progress and counts, failure, retry, cancel."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from jobs import runner
from jobs.models import Job, JobStatus
from tests.conftest import token_client
from tests.jobs.builders import job

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs/"


@runner.job_kind("api_test_count", description="Counts to n.")
def count_to(ctx: runner.JobContext, n: int = 3) -> dict[str, Any]:
    ctx.set_total(n)
    for _ in range(n):
        ctx.advance(1, items=1)
    ctx.count(extra=2)
    return {"counted": n}


@runner.job_kind("api_test_fail", description="Always fails, after some progress.")
def always_fail(ctx: runner.JobContext) -> None:
    ctx.set_total(4)
    ctx.advance(1)
    raise RuntimeError("the source file is unreadable")


@runner.job_kind("api_test_flaky", description="Fails on its first attempt only.")
def flaky(ctx: runner.JobContext) -> dict[str, Any]:
    if ctx.job.attempts < 2:
        raise ConnectionError("broker went away")
    return {"ok": True}


def start(client: APIClient, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post(JOBS, {"kind": kind, "params": params or {}}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def test_start_runs_on_commit_and_reports_progress(manager_client: APIClient, run_on_commit: None) -> None:
    body = start(manager_client, "api_test_count", {"n": 5})
    assert body["status"] == "succeeded"
    assert body["progress"] == 1.0
    assert (body["progress_done"], body["progress_total"]) == (5, 5)
    assert body["counts"] == {"items": 5, "extra": 2}
    assert body["result"] == {"counted": 5}
    assert (body["attempts"], body["error"], body["created_by"], body["queue"]) == (1, "", "manager", "default")
    assert body["started_at"] and body["finished_at"]
    assert manager_client.get(f"{JOBS}{body['id']}/").json() == body


def test_without_a_commit_the_job_waits_queued(manager_client: APIClient) -> None:
    body = start(manager_client, "api_test_count")
    assert (body["status"], body["progress"], body["attempts"], body["started_at"]) == ("queued", None, 0, None)


def test_failing_kind_is_recorded_failed_with_its_error(manager_client: APIClient, run_on_commit: None) -> None:
    body = start(manager_client, "api_test_fail")
    assert body["status"] == "failed"
    assert body["error"] == "RuntimeError: the source file is unreadable"  # the reason, not the traceback
    assert "traceback" not in body
    assert (body["progress_done"], body["progress_total"], body["progress"]) == (1, 4, 0.25)


def test_retry_of_a_failed_job_runs_it_again(manager_client: APIClient, run_on_commit: None) -> None:
    failed = start(manager_client, "api_test_fail")
    response = manager_client.post(f"{JOBS}{failed['id']}/retry/")
    assert response.status_code == 202, response.content
    again = response.json()
    assert (again["id"], again["status"], again["attempts"]) == (failed["id"], "failed", 2)

    flaky_job = start(manager_client, "api_test_flaky")
    assert (flaky_job["status"], flaky_job["attempts"]) == ("failed", 1)
    assert "ConnectionError: broker went away" in flaky_job["error"]
    retried = manager_client.post(f"{JOBS}{flaky_job['id']}/retry/").json()
    assert (retried["status"], retried["attempts"], retried["error"], retried["result"]) == (
        "succeeded", 2, "", {"ok": True},
    )


def test_retry_queues_the_job_until_commit(manager_client: APIClient) -> None:
    failed = job(kind="api_test_count", params={}, status=JobStatus.FAILED, error="boom", attempts=1)
    body = manager_client.post(f"{JOBS}{failed.pk}/retry/").json()
    assert (body["status"], body["error"], body["attempts"]) == ("queued", "", 1)


def test_retry_of_a_succeeded_job_is_409(manager_client: APIClient, run_on_commit: None) -> None:
    body = start(manager_client, "api_test_count")
    response = manager_client.post(f"{JOBS}{body['id']}/retry/")
    assert response.status_code == 409
    assert "only failed or cancelled" in response.json()["detail"]


def test_cancel(manager_client: APIClient, run_on_commit: None) -> None:
    finished = start(manager_client, "api_test_count")
    response = manager_client.post(f"{JOBS}{finished['id']}/cancel/")
    assert response.status_code == 409
    assert "succeeded" in response.json()["detail"]

    queued = job(kind="api_test_count", params={"n": 2})
    response = manager_client.post(f"{JOBS}{queued.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]
    assert manager_client.post(f"{JOBS}{queued.pk}/cancel/").status_code == 409

    # a cancelled job can be retried, and then it runs
    retried = manager_client.post(f"{JOBS}{queued.pk}/retry/").json()
    assert (retried["status"], retried["attempts"]) == ("succeeded", 1)


def test_unknown_kind_is_400_naming_the_known_kinds(manager_client: APIClient) -> None:
    response = manager_client.post(JOBS, {"kind": "mine_bitcoin"}, format="json")
    assert response.status_code == 400
    message = response.json()["kind"][0]
    assert "unknown job kind" in message and "api_test_count" in message and "ping" in message
    assert not Job.objects.exists()


def test_retry_and_cancel_need_the_change_permission(run_on_commit: None) -> None:
    """A token that may start jobs (add) but not change them cannot retry or cancel."""
    user = User.objects.create_user("starter")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_job", "view_job"]))
    client = token_client(user)
    body = start(client, "api_test_fail")
    response = client.post(f"{JOBS}{body['id']}/retry/")
    assert response.status_code == 403
    assert "jobs.change_job" in response.json()["detail"]
    assert client.post(f"{JOBS}{job().pk}/cancel/").status_code == 403
