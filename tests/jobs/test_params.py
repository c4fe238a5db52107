"""Job parameters are checked when the job is created (API, admin pages, commands all go through
`start_job`), for every registered kind; a failed job shows a readable reason and never its traceback."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from jobs import runner
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs/"


def test_a_number_of_the_wrong_type_is_a_400_naming_the_field(manager_client: Any) -> None:
    response = manager_client.post(JOBS, {"kind": "precompute_recommendations", "params": {"k": "lots"}}, format="json")
    assert response.status_code == 400, response.content
    assert "must be an integer" in response.json()["params"]["k"][0]
    assert not Job.objects.exists()  # nothing queued to fail later with a TypeError


def test_a_number_out_of_range_and_an_unknown_parameter_are_refused(manager_client: Any) -> None:
    response = manager_client.post(JOBS, {"kind": "precompute_recommendations", "params": {"k": 10_000}}, format="json")
    assert response.status_code == 400 and "from 1 to 100" in response.json()["params"]["k"][0]
    response = manager_client.post(JOBS, {"kind": "ping", "params": {"stpes": 3}}, format="json")
    assert response.status_code == 400 and "unknown parameter" in response.json()["params"]["stpes"][0]
    assert not Job.objects.exists()


def test_an_import_path_outside_the_uploads_folder_is_refused_at_creation(manager_client: Any) -> None:
    params = {"kind": "customers", "path": "/etc/passwd"}
    response = manager_client.post(JOBS, {"kind": "import_data", "params": params}, format="json")
    assert response.status_code == 400, response.content
    assert "/etc/passwd" in response.json()["params"]["params"][0]
    assert not Job.objects.exists()


@pytest.mark.parametrize("kind", ["train_recommender", "train_aspects", "train_sentiment", "tune_assistant"])
def test_a_version_name_that_escapes_its_folder_is_refused_at_creation(kind: str) -> None:
    params: dict[str, Any] = {"name": "../../../../outside"}
    if kind == "train_aspects":
        params["path"] = str(settings.MEDIA_ROOT) + "/imports/aspects.jsonl"
    with pytest.raises(runner.JobParamsError) as refused:
        runner.start_job(kind, params)
    assert refused.value.field == "name" and "use letters" in refused.value.reason


def test_a_training_path_outside_the_uploads_folder_is_refused_at_creation() -> None:
    with pytest.raises(runner.JobParamsError) as refused:
        runner.start_job("train_aspects", {"path": "/etc/passwd"})
    assert refused.value.field == "path"
    with pytest.raises(runner.JobParamsError, match="required"):
        runner.start_job("train_aspects", {})


def test_whole_dict_checks_of_open_kinds() -> None:
    with pytest.raises(runner.JobParamsError, match="unknown seed_demo option"):
        runner.start_job("seed_demo", {"custmers": 5})
    with pytest.raises(runner.JobParamsError, match="not both"):
        runner.start_job("summarize_products", {"product_ids": [1], "top": 3})
    with pytest.raises(runner.JobParamsError) as refused:
        runner.start_job("train_predictions", {"targets": ["purchase_30d", "nope"]})
    assert refused.value.field == "targets"
    with pytest.raises(runner.JobParamsError) as refused:
        runner.start_job("rebuild_profiles", {"now": "yesterday-ish"})
    assert refused.value.field == "now"


def test_every_registered_kind_refuses_an_unknown_parameter_or_checks_the_whole() -> None:
    for name, kind in runner.registered_kinds().items():
        assert kind.params.open is False or kind.params.validate is not None, name
        if not kind.params.open:
            with pytest.raises(runner.JobParamsError):
                runner.check_params(name, {"no_such_parameter": 1})


def test_valid_parameters_still_start_the_job(run_on_commit: Any) -> None:
    job = runner.start_job("ping", {"steps": 2, "delay": 0})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_a_failed_job_shows_a_short_reason_and_the_api_never_shows_the_traceback(
    run_on_commit: Any, analyst_client: Any
) -> None:
    job = runner.start_job("ping", {"steps": 1, "fail": True})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "RuntimeError: ping asked to fail"
    assert "Traceback" in job.traceback and "jobs/tasks.py" in job.traceback
    body = analyst_client.get(f"{JOBS}{job.pk}/").json()
    assert body["error"] == "RuntimeError: ping asked to fail"
    text = str(analyst_client.get(JOBS).json()) + str(body)
    assert "Traceback" not in text and ".py" not in text


def test_the_traceback_is_shown_in_the_admin_to_superusers_only(
    run_on_commit: Any, manager_web: Any, client: Any
) -> None:
    from django.contrib.auth.models import User

    job = runner.start_job("ping", {"steps": 1, "fail": True})
    url = f"/admin/jobs/job/{job.pk}/change/"
    assert "Traceback (most recent" not in manager_web.get(url).content.decode()
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(root)
    assert "Traceback (most recent" in client.get(url).content.decode()


def test_a_command_queueing_a_bad_job_says_why() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="name: version name"):
        call_command("tune_assistant", "--as-job", "--name", "../x")
