"""`/metrics`: request latency by view, job duration and failures by kind, queue depth read at scrape time,
model latency and batch size, generation tokens per second; served only to allowed addresses or a token."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import QueueDepthCollector
from ecommarketing.metrics import QUEUE_DEPTH
from inference import metrics as model_metrics
from inference.embedding import Embedder
from inference.generation import BatchedGenerator, ChatPrompt, GenerationStats, Sampling
from inference.sentiment.finetuned import FineTunedSentiment
from inference.sentiment.ngram import NgramSentiment
from inference.sentiment.prototypes import PrototypeSentiment
from jobs.models import Job, JobStatus
from jobs.runner import start_job

ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_request_latency_is_recorded_by_route_name_method_and_status_class(client: Client) -> None:
    before = _value("ecom_http_request_seconds_count", view="healthz", method="GET", status="2xx")
    assert client.get("/healthz").status_code == 200
    client.get("/no/such/page/42")

    response = client.get("/metrics")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    samples = _samples(response.content.decode())
    key = frozenset({"view": "healthz", "method": "GET", "status": "2xx"}.items())
    assert samples[("ecom_http_request_seconds_count", key)] == before + 1
    unmatched = frozenset({"view": "unmatched", "method": "GET", "status": "4xx"}.items())
    assert samples[("ecom_http_request_seconds_count", unmatched)] >= 1  # raw paths never become labels
    assert not any("no/such" in str(labels) for _, labels in samples)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "authorization", "token", "status"),
    [
        ("127.0.0.1", "", "", 200),
        ("::ffff:127.0.0.1", "", "", 200),
        ("10.1.2.3", "", "", 403),
        ("10.1.2.3", "Bearer " + "s" * 32, "s" * 32, 200),
        ("10.1.2.3", "Bearer " + "x" * 32, "s" * 32, 403),
        ("10.1.2.3", "Bearer ", "", 403),  # no token configured: a blank one opens nothing
        ("10.9.9.9", "", "", 200),  # inside an allowed network
    ],
)
def test_metrics_are_served_only_to_allowed_addresses_or_the_token(
    client: Client, settings: Any, address: str, authorization: str, token: str, status: int
) -> None:
    settings.METRICS_TOKEN = token
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1/32", "::1/128", "10.9.0.0/16"]
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", REMOTE_ADDR=address, **headers)
    assert response.status_code == status
    if status == 403:
        assert b"ecom_" not in response.content


@pytest.mark.django_db
def test_metrics_refuse_forwarded_addresses(client: Client) -> None:
    """X-Forwarded-For is written by the client: it never admits anyone."""
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403


@pytest.mark.django_db
def test_job_duration_and_failures_are_counted_by_kind(run_on_commit: None) -> None:
    ok_before = _value("ecom_job_seconds_count", kind="ping", status="succeeded")
    failed_before = _value("ecom_job_failures_total", kind="ping")

    assert start_job("ping", {"steps": 1}).pk
    job = start_job("ping", {"steps": 1, "fail": True})

    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    assert _value("ecom_job_seconds_count", kind="ping", status="succeeded") == ok_before + 1
    assert _value("ecom_job_seconds_count", kind="ping", status="failed") >= 1
    assert _value("ecom_job_failures_total", kind="ping") == failed_before + 1


# --- queue depth ------------------------------------------------------------------------------------------


def test_queue_depth_counts_each_queue_with_its_priority_lists(private_redis: str) -> None:
    client = redis.Redis.from_url(private_redis)
    client.rpush("default", "a", "b", "c")
    client.rpush("inference\x06\x166", "d")  # kombu keeps priority 6 of "inference" here
    collector = QueueDepthCollector(lambda: private_redis, lambda: ["default", "inference"])

    depth, up = list(collector.collect())

    assert {s.labels["queue"]: s.value for s in depth.samples} == {"default": 3.0, "inference": 1.0}
    assert up.samples[0].value == 1.0


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "memory://", "amqp://guest@127.0.0.1:1//"])
def test_queue_depth_is_unknown_when_the_broker_does_not_answer(url: str) -> None:
    collector = QueueDepthCollector(lambda: url, lambda: ["default", "inference"])
    started = time.perf_counter()

    depth, up = list(collector.collect())

    assert time.perf_counter() - started < 2
    assert all(math.isnan(sample.value) for sample in depth.samples) and len(depth.samples) == 2
    assert up.samples[0].value == 0.0


@pytest.mark.django_db
def test_a_scrape_with_the_broker_down_still_answers(client: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'ecom_queue_depth{queue="default"} NaN' in text and "ecom_broker_up 0.0" in text
    assert QUEUE_DEPTH.queues() == ["default", "inference", "generation"]


# --- models -----------------------------------------------------------------------------------------------


def test_each_model_role_is_observed_where_it_reads_its_batch() -> None:
    for method in (Embedder.encode, FineTunedSentiment.predict, NgramSentiment.predict, PrototypeSentiment.predict):
        assert hasattr(method, "__wrapped__"), method


def test_observed_records_seconds_and_batch_size_even_on_error() -> None:
    class Model:
        @model_metrics.observed("test-role")
        def predict(self, texts: list[str]) -> list[int]:
            if "boom" in texts:
                raise RuntimeError("boom")
            return [len(t) for t in texts]

    before = _value("ecom_model_batch_size_sum", role="test-role")
    assert Model().predict(["a", "bb", "ccc"]) == [1, 2, 3]
    with pytest.raises(RuntimeError):
        Model().predict(["boom"])
    assert _value("ecom_model_batch_size_sum", role="test-role") == before + 4
    assert _value("ecom_model_seconds_count", role="test-role") >= 2


class _FakeGenerator(BatchedGenerator):
    """Ten new tokens per prompt, 20 ms per call: 500 tokens/s for one prompt."""

    name = "fake"
    stats = GenerationStats()

    def _generate_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, batch_size: int | None, on_batch: Any
    ) -> tuple[list[str], int]:
        time.sleep(0.02)
        return ["ok"] * len(prompts), 10 * len(prompts)

    def _sample_all(self, prompts: list[ChatPrompt], sampling: Sampling, n: int, stop: tuple[str, ...],
                    batch_size: int | None, on_batch: Any) -> tuple[list[list[Any]], int]:
        raise NotImplementedError


def test_generation_records_tokens_per_second_and_batch_size() -> None:
    tokens_before = _value("ecom_generation_tokens_total", backend="_FakeGenerator")
    rate_count = _value("ecom_generation_tokens_per_second_count", backend="_FakeGenerator")
    batch_before = _value("ecom_model_batch_size_sum", role="generation")

    _FakeGenerator().generate([ChatPrompt("system", "one"), ChatPrompt("system", "two")])

    assert _value("ecom_generation_tokens_total", backend="_FakeGenerator") == tokens_before + 20
    assert _value("ecom_generation_tokens_per_second_count", backend="_FakeGenerator") == rate_count + 1
    assert _value("ecom_model_batch_size_sum", role="generation") == batch_before + 2
    rate_sum = _value("ecom_generation_tokens_per_second_sum", backend="_FakeGenerator")
    assert 0 < rate_sum < 20 / 0.02 * 2  # about 1,000 tokens/s here; bounded by the sleep


# --- several processes ------------------------------------------------------------------------------------

_RECORD = """
from core.metrics import REQUEST_SECONDS, job_run
REQUEST_SECONDS.labels("event-list", "POST", "2xx").observe(0.05)
with job_run("ping") as run:
    run.status = "failed"
"""


def test_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """Two gunicorn-like workers record; a third renders the sum (PROMETHEUS_MULTIPROC_DIR)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _RECORD], env=env, cwd=ROOT, check=True, timeout=60)
    rendered = subprocess.run(
        [sys.executable, "-c", "import sys; from core.metrics import render; sys.stdout.write(render().decode())"],
        env=env, cwd=ROOT, check=True, timeout=60, capture_output=True, text=True,
    ).stdout
    samples = _samples(rendered)
    assert samples[("ecom_http_request_seconds_count",
                    frozenset({"view": "event-list", "method": "POST", "status": "2xx"}.items()))] == 2
    assert samples[("ecom_job_failures_total", frozenset({"kind": "ping"}.items()))] == 2
