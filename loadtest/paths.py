"""The URLs and bodies the load test sends, without locust (the smoke test resolves them in `make test`)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from typing import Any

EVENTS = "/api/v1/events/"
EVENTS_BULK = "/api/v1/events/bulk/"
BULK_ROWS = 50  # events a bulk request carries (a storefront batching its tracker's events)
EVENT_TYPES = ("view", "view", "view", "search", "add_to_cart")  # the demo's mix, purchases left to orders


def recommendations(customer_id: int, k: int = 10) -> str:
    return f"/api/v1/customers/{customer_id}/recommendations/?k={k}"


_counter = itertools.count()


def event(rng: random.Random, customers: list[str], skus: list[str], run: str) -> dict[str, Any]:
    """One new behaviour event (a unique external id, so every write is an insert, as in production)."""
    kind = rng.choice(EVENT_TYPES)
    row: dict[str, Any] = {
        "external_id": f"load-{run}-{next(_counter)}-{rng.getrandbits(32):08x}",
        "customer": rng.choice(customers),
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    if kind == "search":
        row["query"] = rng.choice(["running shoes", "headphones", "coffee grinder", "yoga mat", "desk lamp"])
    else:
        row["product"] = rng.choice(skus)
    return row
