"""The steps on one object through the generic mixins: a campaign's workflow (transition, generate, send,
winner), a variant's review (approve, reject) and a job's retry and cancel. Who may take each step, that a
refused step changes nothing, and what a taken one leaves behind; the steps' own rules are tested with their
modules (tests/campaigns, tests/api/test_jobs.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db.models import Model

from audit.models import AuditEntry
from campaigns.delivery import recipients_now
from campaigns.models import Campaign, Experiment, Message, Variant
from jobs.models import Job, JobChunk, JobStatus
from tests.audit.builders import acts
from tests.campaigns.builders import approvable, campaign, experiment, proofed, variant
from tests.jobs.builders import chunked_job, job

from .action_mixins import WriteActionTests

pytestmark = pytest.mark.django_db


class CampaignStep(WriteActionTests):
    """A workflow step: any reader may ask, the step's check says who may take it."""

    url = "/api/v1/campaigns/"
    model = Campaign
    permissions = ("campaigns.view_campaign", "campaigns.change_campaign")
    builder = campaign

    def state(self, obj: Model) -> Any:
        assert isinstance(obj, Campaign)
        experiments = list(Experiment.objects.filter(campaign=obj).values())
        return super().state(obj), list(obj.transitions.values()), experiments


class TestCampaignTransition(CampaignStep):
    action = "transition"

    def make_ready(self) -> Campaign:
        return approvable()

    def action_body(self, obj: Model) -> dict[str, Any]:
        return {"to": "approved", "note": "lgtm"}

    def check_done(self, obj: Model, body: Any) -> None:
        assert isinstance(obj, Campaign)
        assert (body["status"], body["status_changed_by"]) == ("approved", "manager")
        assert list(obj.transitions.values_list("to_status", "note")) == [("approved", "lgtm")]


class TestCampaignGenerate(CampaignStep):
    action = "generate"
    action_status = 202

    def check_done(self, obj: Model, body: Any) -> None:
        assert (body["kind"], body["params"]) == ("generate_campaign", {"campaign_id": obj.pk})
        assert Campaign.objects.get(pk=obj.pk).status == Campaign.Status.GENERATING


class TestCampaignSend(CampaignStep):
    action = "send"
    action_status = 202

    def make_ready(self) -> Campaign:
        return proofed(approvable(status=Campaign.Status.APPROVED))  # a send starts after a test send

    def action_body(self, obj: Model) -> dict[str, Any]:
        assert isinstance(obj, Campaign)
        return {"confirm_recipients": recipients_now(obj)}

    def check_done(self, obj: Model, body: Any) -> None:
        send = AuditEntry.objects.get(action="send")
        assert (body["kind"], body["params"]) == ("send_campaign", {"campaign_id": obj.pk, "confirmation": send.pk})
        assert Campaign.objects.get(pk=obj.pk).status == Campaign.Status.RUNNING
        assert Experiment.objects.get(campaign_id=obj.pk).arms.filter(key="A").exists()


class TestCampaignTestSend(CampaignStep):
    action = "test-send"

    def make_ready(self) -> Campaign:
        return approvable(status=Campaign.Status.APPROVED)

    def state(self, obj: Model) -> Any:
        return super().state(obj), len(mail.outbox), acts().count()

    def check_done(self, obj: Model, body: Any) -> None:
        assert body["variants"] == ["A"] and body["to"].endswith("@example.com")
        assert [m.to for m in mail.outbox] == [[body["to"]]] and mail.outbox[0].subject.startswith("[TEST] ")
        assert not Message.objects.exists()


class TestCampaignWinner(CampaignStep):
    action = "winner"
    permissions = ("campaigns.view_campaign", "campaigns.change_experiment")

    def make_ready(self) -> Campaign:
        running = approvable(status=Campaign.Status.RUNNING)
        variant(running, status=Variant.Status.APPROVED)
        experiment(running)
        return running

    def action_body(self, obj: Model) -> dict[str, Any]:
        return {"arm": Experiment.objects.get(campaign_id=obj.pk).arms.get(key="B").pk, "note": "B fits the brand"}

    def check_done(self, obj: Model, body: Any) -> None:
        assert (body["key"], body["note"]) == ("B", "B fits the brand")
        assert Experiment.objects.get(campaign_id=obj.pk).winner_note == "B fits the brand"


class VariantStep(WriteActionTests):
    """A review step on a variant of an in-review campaign."""

    url = "/api/v1/campaigns/{parent}/variants/"
    model = Variant
    parent_field = "campaign_id"
    permissions = ("campaigns.view_variant", "campaigns.change_campaign")

    def make(self, like: Model | None = None) -> Variant:
        return variant(campaign(status=Campaign.Status.IN_REVIEW))


class TestVariantApprove(VariantStep):
    action = "approve"

    def check_done(self, obj: Model, body: Any) -> None:
        assert (body["status"], body["reviewed_by"]) == ("approved", "manager")


class TestVariantReject(VariantStep):
    action = "reject"

    def action_body(self, obj: Model) -> dict[str, Any]:
        return {"reason": "Too generic"}

    def check_done(self, obj: Model, body: Any) -> None:
        assert (body["status"], body["rejection_reason"]) == ("rejected", "Too generic")


class JobStep(WriteActionTests):
    url = "/api/v1/jobs/"
    model = Job
    permissions = ("jobs.add_job", "jobs.change_job")
    builder = job


class TestJobRetry(JobStep):
    action = "retry"
    action_status = 202

    def make_ready(self) -> Job:
        return job(status=JobStatus.FAILED, error="boom", attempts=1)

    def check_done(self, obj: Model, body: Any) -> None:
        # no commit in a test, so the retried job waits queued (tests/api/test_jobs.py runs them)
        assert (body["id"], body["status"], body["error"]) == (obj.pk, "queued", "")


class TestJobCancel(JobStep):
    action = "cancel"

    def check_done(self, obj: Model, body: Any) -> None:
        assert body["status"] == "cancelled" and body["finished_at"]


class TestJobRetryChunk(JobStep):
    action = "chunks/1/retry"
    action_status = 202

    def make_ready(self) -> Job:
        return chunked_job(JobStatus.SUCCEEDED, JobStatus.FAILED)

    def check_done(self, obj: Model, body: Any) -> None:
        # the failed chunk waits queued again (no commit in a test: tests/jobs/test_chunks.py runs it)
        assert (body["index"], body["status"], body["error"]) == (1, "queued", "")
        assert JobChunk.objects.get(job_id=obj.pk, index=0).status == JobStatus.SUCCEEDED  # the done one is kept
