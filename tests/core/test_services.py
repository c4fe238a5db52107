"""Real services: the embedded PostgreSQL, DATABASE_URL / REDIS_URL honoured, and a real Celery worker
taking a job through a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import redis
from django.db import connection
from kombu import pools as kombu_pools

from core import embedded
from ecommarketing.celery import app as celery_app
from jobs import runner
from jobs.models import Job, JobStatus

ROOT = Path(__file__).resolve().parents[2]


def database_url(name: str | None = None) -> str:
    """A URL for the database the tests use (or another database on the same server)."""
    s = connection.settings_dict
    host = s["HOST"] or "localhost"
    auth = quote(s["USER"] or "")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    db = name or s["NAME"]
    if host.startswith("/"):
        return f"postgresql://{auth}@/{db}?host={quote(host)}" + (f"&port={s['PORT']}" if s["PORT"] else "")
    return f"postgresql://{auth}@{host}:{s['PORT'] or 5432}/{db}"


def test_embedded_postgres_starts_once_and_is_reused(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    first = embedded.ensure_postgres(var, database="shop")
    try:
        assert first.started_here
        second = embedded.ensure_postgres(var, database="shop")
        assert not second.started_here  # a second process finds it running and shares it
        assert second.url == first.url
        with psycopg.connect(first.url) as conn:
            row = conn.execute("SELECT current_database(), current_setting('server_version_num')::int").fetchone()
        assert row is not None and row[0] == "shop" and row[1] >= 150000
        # data survives a restart: the folder is reused, not re-initialised
        with psycopg.connect(first.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int)")
        assert embedded.stop_postgres(var)
        assert not embedded.postgres_running(var)
        third = embedded.ensure_postgres(var, database="shop")
        assert third.started_here
        with psycopg.connect(third.url) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        embedded.stop_postgres(var)
    assert not embedded.stop_postgres(var)  # stopping a stopped server is a no-op


def test_a_wrapped_command_leaves_no_server_behind(tmp_path: Path) -> None:
    """`python -m core.embedded CMD` (make test, CI): the command finds the server up; the server is gone after,
    unless it ran before the wrapper (then it is left to whoever started it)."""
    var = tmp_path / "var"
    var.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"ECOM_VAR_DIR": str(var)}
    probe = "from core import embedded; import sys; sys.exit(0 if embedded.postgres_running() else 3)"
    wrapped = [sys.executable, "-m", "core.embedded", sys.executable, "-c", probe]
    try:
        assert subprocess.run(wrapped, cwd=ROOT, env=env, timeout=120).returncode == 0  # up while it runs
        assert not embedded.postgres_running(var)  # and stopped after
        embedded.ensure_postgres(var)  # a server someone else started ...
        assert subprocess.run(wrapped, cwd=ROOT, env=env, timeout=120).returncode == 0
        assert embedded.postgres_running(var)  # ... is still theirs afterwards
    finally:
        embedded.stop_postgres(var)


@pytest.mark.django_db
def test_database_url_and_redis_url_are_honoured(private_redis: str) -> None:
    """Point both variables at running servers, as production does, and check a fresh process uses them."""
    admin_url = database_url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ecom_url_check")
        conn.execute("CREATE DATABASE ecom_url_check")
    try:
        script = (
            "import django; django.setup();"
            "from django.conf import settings; from django.db import connection;"
            "from ecommarketing.celery import app;"
            "cur = connection.cursor(); cur.execute('select current_database()');"
            "print('db', cur.fetchone()[0], settings.EMBEDDED_POSTGRES);"
            "conn = app.connection_for_write(); conn.ensure_connection(max_retries=1);"
            "print('broker', app.conf.broker_url, app.conf.task_always_eager); conn.release()"
        )
        env = {**os.environ, "DATABASE_URL": database_url("ecom_url_check"), "REDIS_URL": private_redis}
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "db ecom_url_check False" in result.stdout
        assert f"broker {private_redis} False" in result.stdout
        assert int(redis.Redis.from_url(private_redis).info()["total_connections_received"]) >= 1
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS ecom_url_check WITH (FORCE)")


@pytest.fixture
def worker(private_redis: str) -> Iterator[str]:
    """A real Celery worker process on both queues, using the test database and the private Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": private_redis,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", "default,inference",
         "--pool", "solo", "--loglevel", "INFO", "-n", f"test-{os.getpid()}@%h"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        with broker_at(private_redis):
            yield private_redis
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-4000:])


def _switch_broker(**conf: object) -> None:
    """Point this process's Celery app at another broker. Eager sends also open a producer (to check
    serializers), so earlier tests may have cached a pool on the in-memory broker: drop it."""
    celery_app.conf.update(conf)
    app: Any = celery_app  # private attributes, not in the type stubs
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()  # kombu's own registry keeps producer pools by broker, closed ones too


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """This process's Celery app sends to the broker at `url` (no eager runs) inside the block, then goes
    back to what it used before."""
    previous = {"broker_url": celery_app.conf.broker_url, "task_always_eager": celery_app.conf.task_always_eager}
    _switch_broker(broker_url=url, task_always_eager=False)
    try:
        yield
    finally:
        _switch_broker(**previous)


def _wait_for(job: Job, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job.pk} still {job.status} after {timeout} s")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_jobs_through_real_redis(worker: str) -> None:
    # The job is enqueued when the transaction commits, sent through Redis, run by the worker process.
    job = runner.start_job("ping", {"steps": 5})
    assert _wait_for(job).status == JobStatus.SUCCEEDED
    assert job.counts == {"pings": 5} and job.progress == 1.0
    assert job.celery_task_id
    assert "worker" in job.result

    inference = runner.start_job("ping_inference", {"steps": 2})
    assert _wait_for(inference).status == JobStatus.SUCCEEDED
    assert inference.queue == "inference"

    failing = runner.start_job("ping", {"steps": 1, "fail": True})
    assert _wait_for(failing).status == JobStatus.FAILED
    assert "ping asked to fail" in failing.error
