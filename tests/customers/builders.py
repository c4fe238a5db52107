"""Builders for customers and what they do: customers, events at chosen ages, purchases, profiles, segments and
predictions. Each call makes one valid, distinct object (a counter keeps keys unique); keyword arguments
override any field."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from catalog.models import Product
from customers.models import Customer, CustomerPrediction, CustomerProfile, Event, EventType, Segment
from tests.catalog.builders import model_version

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # the clock `days_ago` counts back from, unless told another
_seq = itertools.count(1)


def customer(**fields: Any) -> Customer:
    """A customer with a unique external id and email (no marketing consent, as the model's default)."""
    n = next(_seq)
    defaults: dict[str, Any] = {"external_id": f"cust-{n:05d}", "email": f"c{n}@example.com", "name": f"Customer {n}"}
    return Customer.objects.create(**{**defaults, **fields})


def customers(n: int, **fields: Any) -> list[Customer]:
    """`n` customers in one insert (for tests that need hundreds)."""
    first = next(_seq)
    return Customer.objects.bulk_create(
        [Customer(**{"external_id": f"bulk-{first:05d}-{i}", **fields}) for i in range(n)]
    )


def event(
    customer: Customer, type: str, *, product: Product | None = None, days_ago: float = 0.0, now: datetime = NOW,
    **fields: Any,
) -> Event:
    """An event of `type` by `customer`, `days_ago` days before `now` (or at `occurred_at`)."""
    n = next(_seq)
    defaults: dict[str, Any] = {"external_id": f"evt-{n:06d}", "occurred_at": now - timedelta(days=days_ago)}
    return Event.objects.create(**{**defaults, "customer": customer, "product": product, "type": type, **fields})


def purchase(
    customer: Customer, product: Product, *, value: Decimal | str = "10.00", days_ago: float = 0.0,
    now: datetime = NOW, **fields: Any,
) -> Event:
    """One order line: a purchase of one `product` worth `value`."""
    return event(
        customer, EventType.PURCHASE, product=product, days_ago=days_ago, now=now,
        **{"quantity": 1, "value": Decimal(str(value)), **fields},
    )


def profile(customer: Customer, **fields: Any) -> CustomerProfile:
    """The customer's profile, as a rebuild would leave it (empty unless told)."""
    return CustomerProfile.objects.create(customer=customer, **fields)


def segment(**fields: Any) -> Segment:
    """A behavioural segment with a unique key."""
    n = next(_seq)
    return Segment.objects.create(**{"key": f"segment-{n}", "kind": "behavioural", "name": f"Segment {n}", **fields})


def prediction(customer: Customer, target: str, **fields: Any) -> CustomerPrediction:
    """The customer's latest prediction for `target`, by a new model version of that role unless told."""
    if "model_version" not in fields:
        fields["model_version"] = model_version(role=target)
    return CustomerPrediction.objects.create(customer=customer, target=target, **fields)
