"""Which models a worker loads: none on `default`, the encoders on `inference`, the LLM on `generation`.

The registry refuses a role the worker's queues do not serve (`ModelNotServedHere`), so a database job
that asked for a model fails with that reason instead of quietly holding gigabytes; a real `default`
worker runs the demo's database jobs without one, and refuses a model job sent to it by mistake.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecommarketing.celery import QUEUE_ROLES, roles_for_queues
from inference import registry
from jobs import runner
from jobs.models import Job, JobStatus
from tests.core.test_services import ROOT, _wait_for, broker_at, database_url

MODEL_QUEUES = {"inference", "generation"}


@pytest.fixture
def served_nowhere() -> Iterator[None]:
    registry.clear()
    registry.serve_only(frozenset())
    try:
        yield
    finally:
        registry.serve_only(None)
        registry.clear()


def test_each_queue_serves_its_roles() -> None:
    assert roles_for_queues(["default"]) == frozenset()
    assert roles_for_queues(["inference"]) == registry.ENCODER_ROLES
    assert registry.GENERATION not in registry.ENCODER_ROLES  # an encoder worker never holds the LLM
    assert roles_for_queues(["generation"]) == {registry.GENERATION, registry.EMBEDDING}
    assert roles_for_queues(["default", "inference"]) == registry.ENCODER_ROLES
    assert roles_for_queues(None) is None  # no -Q: every queue, any model
    assert roles_for_queues(["operators-own"]) is None
    assert set(QUEUE_ROLES) == {"default", *MODEL_QUEUES}


def test_every_job_kind_is_on_a_known_queue() -> None:
    kinds = runner.registered_kinds()
    assert {kind.queue for kind in kinds.values()} <= set(QUEUE_ROLES)
    # the kinds that load a model (embeddings of searches, the LLM) are on the queue that serves it
    assert kinds["precompute_recommendations"].queue == "inference"
    assert kinds["generate_campaign"].queue == "generation"
    assert kinds["summarize_products"].queue == "generation"
    assert kinds["import_data"].queue == "default"


def test_a_role_the_worker_does_not_serve_is_refused_with_the_reason(served_nowhere: None) -> None:
    with pytest.raises(registry.ModelNotServedHere, match=r"does not serve the 'embedding' model .*serves: none"):
        registry.embedder()
    assert registry.loaded_roles() == []


def test_a_model_asked_for_by_many_threads_at_once_is_loaded_once() -> None:
    registry.clear()
    loads: list[int] = []
    start = threading.Barrier(8)

    def load(path: Path) -> object:
        loads.append(threading.get_ident())
        time.sleep(0.2)  # a slow load: the other threads arrive meanwhile
        return object()

    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(registry.model_folder(registry.ASPECTS, ROOT, load))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(loads) == 1 and len({id(model) for model in got}) == 1
        assert registry.loaded_roles() == [registry.ASPECTS]
    finally:
        registry.clear()


# --- A real worker on `default` ------------------------------------------------------------------------

@pytest.fixture
def default_worker(private_redis: str) -> Iterator[str]:
    """A real prefork worker on `default` only, as `make demo` and docker-compose start it."""
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": private_redis, "CELERY_TASK_ALWAYS_EAGER": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", "default", "--pool", "prefork",
         "--concurrency", "1", "--loglevel", "INFO", "-n", f"default-{os.getpid()}@%h"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        with broker_at(private_redis):
            yield private_redis
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-4000:])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_default_worker_runs_the_database_jobs_and_loads_no_model(default_worker: str, settings: Any) -> None:
    seeded = _wait_for(runner.start_job(
        "seed_demo", {"products": 12, "customers": 15, "events": 150, "reviews": 20, "anchor": "2026-01-15"}
    ), timeout=180)
    assert seeded.status == JobStatus.SUCCEEDED, seeded.error
    database_jobs = [
        runner.start_job("product_insights", {}),
        runner.start_job("train_predictions", {"now": "2026-01-15"}),
        runner.start_job("train_recommender", {}),
        runner.start_job("ping", {"steps": 2}),
    ]
    for job in database_jobs:
        assert job.queue == "default"
        job = _wait_for(job, timeout=180)
        # a job that asked for a model would fail with ModelNotServedHere: the worker serves none
        assert "does not serve" not in job.error, (job.kind, job.error)
        assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)

    # a model job sent to the default queue by mistake is refused with the reason, and loads nothing
    wrong = Job.objects.create(kind="embed_products", params={}, queue="default")
    runner._send(wrong)
    wrong = _wait_for(wrong, timeout=60)
    assert wrong.status == JobStatus.FAILED
    assert "does not serve the 'embedding' model" in wrong.error and "serves: none" in wrong.error
