"""Locust users of the load test; `python -m loadtest` drives them (steps, soak, memory).

Each user sends at most one request a second (`constant_throughput(1)`), so the user count is the offered
rate; a user class is chosen on the command line (IngestUser, BulkIngestUser, RecommendationsUser).
LOADTEST_CONFIG names the JSON written by `python -m loadtest.prepare` (token, customers, SKUs).
"""

from __future__ import annotations

import functools
import json
import os
import random
from pathlib import Path
from typing import Any

from locust import HttpUser, constant_throughput, task

from loadtest import paths

RUN = os.environ.get("LOADTEST_RUN", "0")


@functools.cache
def config() -> dict[str, Any]:
    return dict(json.loads(Path(os.environ.get("LOADTEST_CONFIG", "var/loadtest/config.json")).read_text()))


class _ShopUser(HttpUser):
    abstract = True
    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {config()['token']}"
        self.rng = random.Random()


class IngestUser(_ShopUser):
    """A storefront tracker posting one event per request."""

    @task
    def single_event(self) -> None:
        body = paths.event(self.rng, config()["customers"], config()["skus"], RUN)
        self.client.post(paths.EVENTS, json=body, name="POST events/")


class BulkIngestUser(_ShopUser):
    """A backend forwarding its events in batches of `paths.BULK_ROWS`."""

    @task
    def bulk_events(self) -> None:
        rows = [paths.event(self.rng, config()["customers"], config()["skus"], RUN) for _ in range(paths.BULK_ROWS)]
        with self.client.post(paths.EVENTS_BULK, json=rows, name="POST events/bulk/", catch_response=True) as r:
            if r.status_code == 200 and r.json().get("rejected"):
                r.failure(f"rows rejected: {r.json()['rejected']}")


class RecommendationsUser(_ShopUser):
    """A storefront asking for a customer's top 10."""

    @task
    def recommendations(self) -> None:
        customer = self.rng.choice(config()["customer_ids"])
        self.client.get(paths.recommendations(customer), name="GET customers/{id}/recommendations/")
