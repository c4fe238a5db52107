"""Training an uplift model from a stored experiment: the rows, the report, the stored version and scores,
the job's parameter checks, and the refusals (no control, no conversions, too small, unknown experiment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from campaigns import uplift
from campaigns.models import Arm, UpliftModel, UpliftScore
from campaigns.uplift_stats import UpliftDataError
from catalog.models import ModelRole, ModelVersion
from customers.models import Customer
from jobs.models import Job, JobStatus
from jobs.runner import start_job

from .uplift_data import START, offer_experiment

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/jobs/"


@pytest.fixture(autouse=True)
def _models_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


def test_training_rows_pool_the_offer_arms_against_the_control_with_features_at_the_start() -> None:
    exp = offer_experiment(300)
    data = uplift.training_data(exp)
    assert data.control_arm == "holdout" and data.treated_arms == ["A"] and data.as_of == START
    assert len(data.customer_ids) == 300 and 0 < data.treated.mean() < 1 and data.converted.any()
    views = uplift.FEATURES.index("views_7d")
    first = np.flatnonzero(data.customer_ids == min(data.customer_ids))[0]  # customer 0 is a persuadable
    assert data.X[first, views] == 3
    assert np.isnan(data.X[first + 1, uplift.FEATURES.index("recency_days")])  # no event before the start


def test_train_uplift_reports_on_the_held_out_part_and_stores_a_version_and_scores() -> None:
    exp = offer_experiment(900)
    result = uplift.train_uplift(exp.pk, name="uplift-test-1")
    version = ModelVersion.objects.get(role=ModelRole.UPLIFT, name="uplift-test-1")
    assert version.is_active and (Path(version.path) / "model.joblib").exists()
    assert version.params["experiment"] == exp.pk and version.params["n_held_out"] == 270
    stored = UpliftModel.objects.get(version=version)
    assert stored.experiment == exp and stored.control_arm == "holdout" and stored.treated_arms == ["A"]
    assert result["n_treated"] + result["n_control"] == 270
    assert result["n_treated_total"] + result["n_control_total"] == 900
    assert [row["fraction"] for row in result["top"]] == [0.1, 0.2, 0.3]
    assert result["top"][0]["uplift"] > 0.2  # the persuadables come first
    assert result["qini_coefficient"] > 0.2
    assert len(version.metrics["qini_curve"]) == 51 and version.metrics["qini_curve"][0]["model"] == 0
    assert result["sample_needed_per_arm"] > 0 and isinstance(result["enough_data"], bool)
    scores = dict(UpliftScore.objects.filter(model=stored).values_list("customer_id", "uplift"))
    assert len(scores) == Customer.objects.count() == result["scored"]
    ids = sorted(scores)
    persuadable = [scores[c] for i, c in enumerate(ids) if i % 3 == 0]
    others = [scores[c] for i, c in enumerate(ids) if i % 3]
    assert np.mean(persuadable) > np.mean(others) + 0.2
    assert uplift.load_model(version) is not None


def test_experiment_without_a_control_arm_is_refused() -> None:
    exp = offer_experiment(200, control=True)
    Arm.objects.filter(experiment=exp).update(is_control=False)
    with pytest.raises(UpliftDataError, match=f"experiment {exp.pk} has no control arm"):
        uplift.train_uplift(exp.pk)
    assert not ModelVersion.objects.filter(role=ModelRole.UPLIFT).exists()


def test_experiment_without_conversions_is_refused_with_the_sample_needed() -> None:
    exp = offer_experiment(200, converting=False)
    with pytest.raises(UpliftDataError, match=r"no conversions .* among 200 customers.*customers per arm are needed"):
        uplift.train_uplift(exp.pk)
    assert not UpliftModel.objects.exists()


def test_a_small_experiment_says_so_with_the_sample_needed_and_writes_nothing() -> None:
    exp = offer_experiment(60)
    with pytest.raises(UpliftDataError, match=r"too small for an uplift model .* about \d+ customers per arm"):
        uplift.train_uplift(exp.pk)
    assert not ModelVersion.objects.filter(role=ModelRole.UPLIFT).exists()


def test_an_unknown_offer_arm_is_named() -> None:
    exp = offer_experiment(100)
    with pytest.raises(UpliftDataError, match=r"arm 'Z' is not an offer arm .* offer arms: \['A'\]"):
        uplift.train_uplift(exp.pk, arm="Z")


def test_job_creation_refuses_an_unknown_experiment_with_400(manager_client: APIClient) -> None:
    response = manager_client.post(JOBS, {"kind": "train_uplift", "params": {"experiment": 999999}}, format="json")
    assert response.status_code == 400
    assert "experiment 999999 does not exist" in str(response.json())
    response = manager_client.post(JOBS, {"kind": "train_uplift", "params": {}}, format="json")
    assert response.status_code == 400 and "experiment" in str(response.json())
    assert not Job.objects.exists()


def test_job_creation_refuses_a_name_that_cannot_be_a_folder(manager_client: APIClient) -> None:
    exp = offer_experiment(50)
    params = {"experiment": exp.pk, "name": "../outside"}
    response = manager_client.post(JOBS, {"kind": "train_uplift", "params": params}, format="json")
    assert response.status_code == 400 and "name" in response.json()["params"]


def test_the_job_trains_and_stores_its_report(run_on_commit: None) -> None:
    exp = offer_experiment(600)
    job = start_job("train_uplift", {"experiment": exp.pk, "name": "uplift-job"})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["version"] == "uplift-job" and job.result["scored"] == 600
    assert ModelVersion.objects.get(name="uplift-job").job_id == job.pk


def test_the_job_fails_with_the_reason_when_the_experiment_has_no_conversions(run_on_commit: None) -> None:
    exp = offer_experiment(120, converting=False)
    job = start_job("train_uplift", {"experiment": exp.pk})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "no conversions" in job.error
