"""Precompute recommendations through chunk tasks with 1, then 2 real worker processes (customers/s each).

The `precompute_recommendations` job plans chunks of customers (`JOB_CHUNK_SIZE`), publishes one
`jobs.run_chunk` task per chunk to a private Redis, and the workers take them; the time is from `start_job` to
the job's finish step. The 1-worker run is the baseline of the 2-worker run (same process, same customers).
With as many cores as workers the ratio approaches 2; on a shared 2-core machine it says what is left.

Needs a trained recommender: trained once here if the database has no active one. Point DATABASE_URL at a
copy of the benchmark shop (never the shared `ecommarketing_bench`):
  DATABASE_URL=postgresql://postgres:@/bench_fanout?host=... python -m benchmarks fanout
BENCH_FANOUT_CUSTOMERS (default 20,000), BENCH_FANOUT_CHUNK (default 2,000), BENCH_FANOUT_REPEATS (3).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Result

ROOT = Path(__file__).resolve().parents[1]


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    host = s["HOST"] or "localhost"
    if host.startswith("/"):
        return f"postgresql://{s['USER']}:{s['PASSWORD'] or ''}@/{s['NAME']}?host={host}" + (
            f"&port={s['PORT']}" if s["PORT"] else ""
        )
    return f"postgresql://{s['USER']}:{s['PASSWORD'] or ''}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def _use_broker(url: str) -> None:
    """This process publishes to `url` (no eager runs)."""
    from kombu import pools

    from ecommarketing.celery import app

    app.conf.update(broker_url=url, task_always_eager=False)
    celery: Any = app
    if celery._pool is not None:
        celery._pool.force_close_all()
    celery._pool = None
    celery.amqp._producer_pool = None
    pools.reset()


def _queue() -> str:
    """The queue precompute's chunks go to (a model queue: a customer without a profile is ranked on their
    embedded searches)."""
    from jobs.runner import registered_kinds

    return registered_kinds()["precompute_recommendations"].queue


def _workers(count: int, broker: str, chunk: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": broker, "CELERY_TASK_ALWAYS_EAGER": "0",
        "JOB_CHUNK_SIZE": str(chunk), "LOG_LEVEL": "WARNING",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", _queue(), "--pool", "solo",
             "--loglevel", "WARNING", "-n", f"bench-fanout-{i}-{os.getpid()}@%h"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        for i in range(count)
    ]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _one_run(ids: list[int]) -> float:
    from jobs.models import Job, JobStatus
    from jobs.runner import start_job

    started = time.perf_counter()
    job = start_job("precompute_recommendations", {"customer_ids": ids, "k": 10})
    while True:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.1)
    took = time.perf_counter() - started
    if job.status != JobStatus.SUCCEEDED:
        raise RuntimeError(f"job {job.pk} {job.status}: {job.error}")
    assert Job.objects.get(pk=job.pk).result["customers"] == len(ids)
    return took


def run() -> list[Result]:
    from catalog.models import ModelRole, ModelVersion
    from core import embedded
    from customers.models import Customer
    from recommendations.training import train_recommender

    customers = int(os.environ.get("BENCH_FANOUT_CUSTOMERS", 20_000))
    chunk = int(os.environ.get("BENCH_FANOUT_CHUNK", 2_000))
    repeats = int(os.environ.get("BENCH_FANOUT_REPEATS", 3))
    if not ModelVersion.objects.filter(role=ModelRole.RECOMMENDER, is_active=True).exists():
        start = time.perf_counter()
        train_recommender(name=f"bench-fanout-{int(time.time())}")
        print(f"recommender trained in {time.perf_counter() - start:.0f} s", flush=True)
    ids = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:customers])
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        redis, broker = embedded.start_redis(Path(folder) / "redis")
        try:
            _use_broker(broker)
            baseline = None
            for count in (1, 2):
                workers = _workers(count, broker, chunk)
                try:
                    _one_run(ids[: chunk * count])  # warm-up: each worker loads the version's tables once
                    times = [_one_run(ids) for _ in range(repeats)]
                finally:
                    _stop(workers)
                median = statistics.median(times)
                print(
                    f"precompute via chunks, {count} worker(s): {len(ids):,} customers, runs "
                    f"{', '.join(f'{t:.1f}' for t in times)} s, median {median:.1f} s "
                    f"({len(ids) / median:,.0f} customers/s)", flush=True,
                )
                name = f"precompute: chunk tasks, {count} worker(s)"
                results.append(Result(name, "customers", len(ids), median, baseline=baseline))
                baseline = baseline or name
        finally:
            redis.terminate()
            redis.wait(timeout=10)
    return results
