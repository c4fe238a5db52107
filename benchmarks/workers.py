"""Resident memory of real Celery workers, per process, before and after a job on each queue.

Starts a private Redis and the workers of a layout (`LAYOUTS`: the queues, pool and concurrency of each
worker, as `make demo` and docker-compose run them), then runs through the real queue: an import and the
demo shop's seeding (`default`), review analysis (`inference`: embedding, sentiment, aspects) and one
product summary (`generation`: the local LLM). After each job it reads every worker process's RSS (the main
process and its pool children) and PSS (shared pages counted once: what the machine really spends).

`python -m benchmarks workers` (own database) or `WORKER_LAYOUTS=split-threads python -m benchmarks.workers`.
Hold /tmp/ecom-heavy.lock on a shared machine: an inference worker holds gigabytes.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .common import Result

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


@dataclass(frozen=True)
class Worker:
    name: str
    queues: str
    pool: str
    concurrency: int

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", self.queues,
            "--pool", self.pool, "--concurrency", str(self.concurrency), "--prefetch-multiplier", "1",
            "--loglevel", "INFO", "-n", f"bench-{self.name}-{os.getpid()}@%h",
        ]


LAYOUTS: dict[str, list[Worker]] = {
    # what `make demo` ran before issue 15: one prefork worker with 2 processes on every queue
    "shared": [Worker("all", "default,inference,generation", "prefork", 2)],
    # one worker per queue; model queues in one process with threads (models loaded once, shared)
    "split-threads": [
        Worker("default", "default", "prefork", 2),
        Worker("inference", "inference", "threads", 1),
        Worker("generation", "generation", "threads", 1),
    ],
    # one worker per queue; model queues prefork with one child each
    "split-prefork": [
        Worker("default", "default", "prefork", 2),
        Worker("inference", "inference", "prefork", 1),
        Worker("generation", "generation", "prefork", 1),
    ],
}
REVIEWS = int(os.environ.get("WORKER_BENCH_REVIEWS", "300"))


def _memory(pid: int) -> list[tuple[str, float, float]]:
    """(role, RSS MB, PSS MB) of the worker's main process and each pool child."""
    main = psutil.Process(pid)
    rows = []
    for index, process in enumerate([main, *main.children(recursive=True)]):
        try:
            info = process.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rows.append(("main" if index == 0 else f"child {index}", info.rss / MB, getattr(info, "pss", info.rss) / MB))
    return rows


def _wait(job_id: int, timeout: float = 1800) -> tuple[str, float]:
    from jobs.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            seconds = (job.finished_at - job.started_at).total_seconds() if job.started_at and job.finished_at else 0.0
            return (job.status if job.status == "succeeded" else f"{job.status}: {job.error[:120]}"), seconds
        time.sleep(0.5)
    raise TimeoutError(f"job {job_id} not finished after {timeout:.0f} s")


def _products_csv(rows: int = 2000) -> str:
    from ingest.uploads import uploads_dir

    path = Path(uploads_dir()) / "bench-workers-products.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "price", "category"])
        for i in range(rows):
            writer.writerow([f"WBENCH-{i:05d}", f"Worker bench product {i}", f"{i % 90 + 9.99:.2f}", "Bench > Things"])
    return str(path)


def _jobs() -> Iterator[tuple[str, str, dict[str, object]]]:
    """(queue, kind, params) in order; each is made when the one before has finished (the seeding writes
    the reviews the analysis reads)."""
    from catalog.models import Product, Review

    if Review.objects.count() < REVIEWS:  # an empty database: the demo shop, small (a shop's data is kept)
        yield "default", "seed_demo", {"products": 60, "customers": 200, "events": 3000, "reviews": REVIEWS}
    yield "default", "import_data", {"kind": "products", "path": _products_csv()}
    review_ids = list(Review.objects.order_by("pk").values_list("pk", flat=True)[:REVIEWS])
    yield "inference", "analyze_reviews", {"review_ids": review_ids, "force": True, "then_products": False}
    if os.environ.get("WORKER_BENCH_GENERATION", "1") != "0":
        product = Product.objects.filter(reviews__isnull=False).order_by("pk").values_list("pk", flat=True).first()
        if product is not None:
            yield "generation", "summarize_products", {"product_ids": [product], "force": True}


def _run_layout(name: str, workers: list[Worker], redis_url: str) -> tuple[list[str], list[Result]]:
    from ecommarketing.celery import app
    from jobs.runner import start_job

    env = {**os.environ, "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "0", "PYTHONUNBUFFERED": "1"}
    log_dir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    processes = {
        w.name: subprocess.Popen(w.command(), cwd=ROOT, env=env, stdout=(log_dir / f"{w.name}.log").open("wb"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
        for w in workers
    }
    lines: list[str] = []
    results: list[Result] = []
    try:
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1.0) or []) < len(workers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not answer; logs in {log_dir}")
        time.sleep(2)  # pool children finish importing

        def snapshot(moment: str) -> None:
            for worker in workers:
                for role, rss, pss in _memory(processes[worker.name].pid):
                    lines.append(f"{name:<14} {worker.name:<11} {worker.pool}x{worker.concurrency:<5} {role:<8} "
                                 f"{moment:<28} {rss:>8.0f} {pss:>8.0f}")

        snapshot("idle")
        by_queue = {q: w for w in workers for q in w.queues.split(",")}
        for queue, kind, params in _jobs():
            if queue not in by_queue:
                continue
            job = start_job(kind, params)
            status, seconds = _wait(job.pk)
            snapshot(f"after {kind}")
            lines.append(f"{'':<14} job {kind} on {by_queue[queue].name}: {status} in {seconds:.1f} s")
            results.append(Result(f"workers {name}: {kind}", "jobs", 1, max(seconds, 1e-6)))
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
    return lines, results


def _use_broker(**conf: object) -> None:
    """Point this process's Celery app at another broker, dropping connection pools made for the old one."""
    from kombu import pools

    from ecommarketing.celery import app as celery_app

    app: Any = celery_app  # private attributes, not in the type stubs
    app.conf.update(conf)
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


def run() -> list[Result]:
    """Each layout of WORKER_LAYOUTS (comma-separated; default: the split layouts) in turn."""
    from core import embedded
    from ecommarketing.celery import app

    chosen = (os.environ.get("WORKER_LAYOUTS") or "split-threads,split-prefork").split(",")
    redis_dir = Path(tempfile.mkdtemp(prefix="bench-workers-redis-"))
    redis, redis_url = embedded.start_redis(redis_dir)
    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    _use_broker(broker_url=redis_url, task_always_eager=False)
    table = [f"{'layout':<14} {'worker':<11} {'pool':<11} {'process':<8} {'moment':<28} {'RSS MB':>8} {'PSS MB':>8}"]
    results: list[Result] = []
    try:
        for name in chosen:
            lines, measured = _run_layout(name, LAYOUTS[name], redis_url)
            table.extend(lines)
            results.extend(measured)
    finally:
        _use_broker(**previous)
        redis.terminate()
        redis.wait(timeout=10)
    print("\n".join(table), flush=True)
    return results


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    if not os.environ.get("DATABASE_URL"):
        from core import embedded

        os.environ["DATABASE_URL"] = embedded.ensure_postgres(database="bench_workers").url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    run()
