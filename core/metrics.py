"""Prometheus metrics of the web app and the jobs, and the text `/metrics` serves.

- request latency by view: route name (the URL pattern's name, bounded, never the raw path), method and
  status class;
- job duration and failures by job kind (`job_run`, wrapped around the one Celery task);
- queue depth: the Celery queues' lengths in Redis, read when Prometheus scrapes (short timeouts; NaN and
  `ecom_broker_up 0` when the broker does not answer, never an error);
- model latency, batch size and tokens per second are recorded in `inference/metrics.py`.

Several processes (gunicorn workers, Celery workers): set PROMETHEUS_MULTIPROC_DIR to an empty folder
shared by them on one machine, before they start; `render()` then adds up every process's files.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "ecom_http_request_seconds", "Seconds from the first middleware to the response, by view.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_SECONDS = Histogram(
    "ecom_job_seconds", "Seconds of one job run, by kind and final status.", ["kind", "status"],
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600),
)
JOB_FAILURES = Counter("ecom_job_failures", "Job runs that failed (an error recorded, or the runner raised).", ["kind"])

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
CONTENT_TYPE = CONTENT_TYPE_LATEST


def view_label(request: HttpRequest) -> str:
    """The matched URL pattern's name ("event-bulk", "admin:index"), or its route; `unmatched` for 404s."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestMetricsMiddleware:
    """Time every request (placed near the top of MIDDLEWARE, so middleware time counts too)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(view_label(request), method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


@dataclass
class JobRun:
    """Filled in by the caller of `job_run`: the final status ("succeeded", "failed", ...; None: not run)."""

    status: str | None = None


@contextmanager
def job_run(kind: str) -> Iterator[JobRun]:
    """Time one run of a job of `kind`; a failed status or an exception counts as a failure."""
    run = JobRun()
    started = time.perf_counter()
    try:
        yield run
    except BaseException:
        run.status = "error"
        raise
    finally:
        if run.status is not None:
            JOB_SECONDS.labels(kind, run.status).observe(time.perf_counter() - started)
            if run.status in ("failed", "error"):
                JOB_FAILURES.labels(kind).inc()


# --- Queue depth, read at scrape time ---------------------------------------------------------------------

BROKER_TIMEOUT = 0.5  # seconds: a scrape must stay fast when the broker hangs
PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport keeps priorities 3, 6, 9 in keys "<queue>\x06\x16<n>"
PRIORITY_STEPS = (3, 6, 9)


class QueueDepthCollector(Collector):
    """`ecom_queue_depth{queue}`: messages waiting in each Celery queue (Redis lists), NaN when unknown."""

    def __init__(self, broker_url: Callable[[], str], queues: Callable[[], Sequence[str]]) -> None:
        self.broker_url = broker_url
        self.queues = queues

    def depths(self) -> dict[str, float] | None:
        """Length per queue, or None when the broker is not Redis or does not answer in time."""
        url = self.broker_url()
        if url.startswith("redis+socket://"):
            url = "unix://" + url.removeprefix("redis+socket://")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return None
        import redis

        try:
            client = redis.Redis.from_url(url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT)
            with client:
                pipe = client.pipeline(transaction=False)
                names = list(self.queues())
                for name in names:
                    pipe.llen(name)
                    for step in PRIORITY_STEPS:
                        pipe.llen(f"{name}{PRIORITY_SEPARATOR}{step}")
                lengths = pipe.execute()
        except (redis.RedisError, OSError):
            return None
        per_queue = 1 + len(PRIORITY_STEPS)
        return {name: float(sum(lengths[i * per_queue : (i + 1) * per_queue])) for i, name in enumerate(names)}

    def collect(self) -> Iterable[Metric]:
        depths = self.depths()
        depth = GaugeMetricFamily(
            "ecom_queue_depth", "Messages waiting in a Celery queue (NaN: the broker did not answer).",
            labels=["queue"],
        )
        for name in self.queues():
            depth.add_metric([name], math.nan if depths is None else depths.get(name, math.nan))
        up = GaugeMetricFamily("ecom_broker_up", "1 when the broker answered the queue-depth read at this scrape.")
        up.add_metric([], 0.0 if depths is None else 1.0)
        return [depth, up]


def render(extra: Sequence[Collector] = ()) -> bytes:
    """The exposition text: this process's metrics (or every process's, in multiprocess mode) + `extra`."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if extra:
        scraped = CollectorRegistry(auto_describe=False)
        for collector in extra:
            scraped.register(collector)
        text += generate_latest(scraped)
    return text
