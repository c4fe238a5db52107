"""Tiny object factories for the API tests: each call makes one valid, distinct object."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from campaigns.models import Campaign
from catalog.models import Product, Review
from customers.models import Customer, Event, EventType
from jobs.models import Job

_seq = itertools.count(1)
BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_product(**fields: Any) -> Product:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "sku": f"SKU-{n:05d}",
        "title": f"Product {n}",
        "category": "Home > Kitchen",
        "brand": "Acme",
        "price": Decimal("10.00"),
    }
    return Product.objects.create(**{**defaults, **fields})


def make_customer(**fields: Any) -> Customer:
    n = next(_seq)
    defaults: dict[str, Any] = {"external_id": f"cust-{n:05d}", "email": f"c{n}@example.com", "name": f"Customer {n}"}
    return Customer.objects.create(**{**defaults, **fields})


def make_review(**fields: Any) -> Review:
    n = next(_seq)
    defaults: dict[str, Any] = {"external_id": f"rev-{n:05d}", "rating": 4, "title": "Good", "text": f"Review {n}"}
    if "product" not in fields:
        defaults["product"] = make_product()
    if "customer" not in fields:
        defaults["customer"] = make_customer()
    return Review.objects.create(**{**defaults, **fields})


def make_event(**fields: Any) -> Event:
    n = next(_seq)
    defaults: dict[str, Any] = {
        "external_id": f"evt-{n:05d}",
        "type": EventType.VIEW,
        "occurred_at": BASE_TIME + timedelta(minutes=n),
    }
    if "customer" not in fields:
        defaults["customer"] = make_customer()
    if "product" not in fields:
        defaults["product"] = make_product()
    return Event.objects.create(**{**defaults, **fields})


def author() -> User:
    """Whoever made factory campaigns and jobs: set, so a list without select_related would show N+1."""
    user, _ = User.objects.get_or_create(username="author")
    return user


def make_campaign(**fields: Any) -> Campaign:
    n = next(_seq)
    return Campaign.objects.create(
        **{"name": f"Campaign {n}", "brief": "Sell more mugs", "created_by": author(), **fields}
    )


def make_job(**fields: Any) -> Job:
    return Job.objects.create(**{"kind": "ping", "params": {"steps": 1}, "created_by": author(), **fields})
