"""Every admin page a manager opens renders, with data in it; job actions retry and cancel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobs.models import Job, JobStatus
from tests.campaigns.builders import campaign
from tests.catalog.builders import product, review
from tests.customers.builders import customer, event
from tests.jobs.builders import job

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_data(admin_client: Client, admin_user: User) -> Client:
    kettle = product(title="Kettle", price=Decimal("30"))
    ann = customer(name="Ann")
    review(product=kettle, customer=ann, rating=4, text="Boils fast, loud click.")
    event(ann, "view", product=kettle)
    campaign(name="Spring", created_by=admin_user)
    job(status=JobStatus.RUNNING, progress_done=3, progress_total=4)
    job(status=JobStatus.FAILED, error="RuntimeError: boom")
    return admin_client


def test_every_registered_model_has_working_list_and_change_pages(admin_client_with_data: Client) -> None:
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = admin_client_with_data.get(url)
        assert response.status_code == 200, url
        search = admin_client_with_data.get(url, {"q": "a"})
        assert search.status_code == 200, url
        obj = model._default_manager.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert admin_client_with_data.get(change).status_code == 200, change


def test_job_list_shows_progress_bar(admin_client_with_data: Client) -> None:
    response = admin_client_with_data.get(reverse("admin:jobs_job_changelist"))
    assert b"75%" in response.content


def test_retry_and_cancel_actions(admin_client_with_data: Client, run_on_commit: Any) -> None:
    failed = Job.objects.get(status=JobStatus.FAILED)
    Job.objects.filter(pk=failed.pk).update(params={"steps": 1})
    running = Job.objects.get(status=JobStatus.RUNNING)
    url = reverse("admin:jobs_job_changelist")
    response = admin_client_with_data.post(url, {"action": "retry_jobs", "_selected_action": [failed.pk, running.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == JobStatus.SUCCEEDED and failed.attempts == 1
    admin_client_with_data.post(url, {"action": "cancel_jobs", "_selected_action": [running.pk]})
    running.refresh_from_db()
    assert running.status == JobStatus.CANCELLED
