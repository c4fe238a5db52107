"""The send job in chunks of message ids: every message goes once, a chunk delivered again after its worker
died sends nothing twice (the delivery claim), and the result keeps its keys."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from campaigns.actions import do_start_sending
from campaigns.models import Message
from jobs import chunks
from jobs.models import JobChunk, JobStatus

from .builders import proofed
from .test_delivery import approved_campaign

pytestmark = pytest.mark.django_db


def test_a_send_in_chunks_of_two_sends_each_message_once(run_on_commit: None, manager: Any, settings: Any) -> None:
    settings.JOB_CHUNK_SIZE = 2
    camp = proofed(approved_campaign(5))
    job = do_start_sending(camp, manager, confirm_recipients=5)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks.count() == 3  # 5 messages, 2 per chunk
    assert job.result == {
        "audience": 5, "holdout": 0, "messages_created": 5, "sent": 5, "skipped": 0, "failed": 0, "unconfirmed": 0
    }
    assert len(mail.outbox) == 5 and len({m.to[0] for m in mail.outbox}) == 5
    assert job.progress_done == job.progress_total == 5

    chunk = JobChunk.objects.get(job=job, index=1)  # its worker died after sending: delivered again
    JobChunk.objects.filter(pk=chunk.pk).update(status=JobStatus.QUEUED)
    type(job).objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, finish_started_at=None)
    assert chunks.execute_chunk(chunk.pk) == JobStatus.SUCCEEDED
    chunk.refresh_from_db()
    assert chunk.counts == {} and chunk.progress_total == 0  # its messages were claimed already
    assert len(mail.outbox) == 5
    assert Message.objects.filter(campaign=camp, status="sent").count() == 5
