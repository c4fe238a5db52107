"""Smoke test of the load test (`make load` itself is not part of `make test`): its URLs resolve to the views
it means to load and its bodies pass the event serializer; the locustfile imports when locust is installed."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys

import pytest
from django.urls import resolve

from customers.serializers import EventSerializer
from loadtest import paths
from tests.catalog import builders as catalog
from tests.customers import builders as customers


@pytest.mark.parametrize(
    ("url", "view"),
    [
        (paths.EVENTS, "event-list"),
        (paths.EVENTS_BULK, "event-bulk"),
        (paths.recommendations(7).split("?")[0], "customer-recommendations-list"),
    ],
)
def test_the_load_test_urls_resolve_to_the_views_it_loads(url: str, view: str) -> None:
    assert resolve(url).view_name == view


@pytest.mark.django_db
def test_its_events_are_valid_events() -> None:
    customer, product = customers.customer(), catalog.product()
    rng = random.Random(1)
    for _ in range(20):
        row = paths.event(rng, [customer.external_id], [product.sku], "smoke")
        serializer = EventSerializer(data=row)
        assert serializer.is_valid(), serializer.errors


def test_the_locustfile_imports_and_declares_its_users() -> None:
    """In a child process: locust's gevent patches sockets and threads of the process that imports it."""
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is in the `load` extra")
    from loadtest.__main__ import ROOT, SCENARIOS

    listed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"), "--list"],
        capture_output=True, text=True, timeout=120, check=True, cwd=ROOT,
    ).stdout.split()
    assert {user for user, _ in SCENARIOS.values()} <= set(listed)
