"""Admin page response times on the benchmark shop (100,000 customers / 1.1 M events by default; 1,000,000 /
10 M with BENCH_SHOP_CUSTOMERS=1000000 BENCH_SHOP_EVENTS_PER_CUSTOMER=10).

Each page is requested through Django's test client signed in as a superuser, BENCH_PAGES_REQUESTS times
(after one request that warms the process), and reported as median and p99 against `/healthz` (one query)
in the same run. The dashboard is measured with its cache emptied before every request (cold: every figure
computed) and with it filled (warm).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from .common import Result
from .shop import PREFIX, ShopSize, build_shop

BASELINE = "GET /healthz (baseline)"


def shop_size() -> ShopSize:
    """The shop the environment asks for (the same variables as the recommendation benchmark)."""
    return ShopSize(
        products=int(os.environ.get("BENCH_SHOP_PRODUCTS", 100_000)),
        customers=int(os.environ.get("BENCH_SHOP_CUSTOMERS", 100_000)),
        events_per_customer=float(os.environ.get("BENCH_SHOP_EVENTS_PER_CUSTOMER", 10)),
    )


def _timed(client: object, url: str, label: str, requests: int, before: Callable[[], object] | None) -> Result:
    get = client.get  # type: ignore[attr-defined]
    response = get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    times = []
    for _ in range(requests):
        if before is not None:
            before()
        start = time.perf_counter()
        response = get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    median, p99 = statistics.median(times), float(np.percentile(np.array(times), 99))
    print(f"{label}: median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms over {requests} requests ({url})",
          flush=True)
    if label == BASELINE:  # its name stays exact: the others name it as their baseline
        return Result(label, "requests", 1, median)
    return Result(f"{label} (p99 {p99 * 1000:.0f} ms)", "requests", 1, median, baseline=BASELINE)


def run() -> list[Result]:
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from customers.models import Customer, Event

    requests = int(os.environ.get("BENCH_PAGES_REQUESTS", 20))
    start = time.perf_counter()
    counts = build_shop(shop_size())
    print(f"shop: {counts} (built or found in {time.perf_counter() - start:.0f} s)", flush=True)

    user, _ = User.objects.get_or_create(username="bench-pages", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    # the busiest customer of a sample (a full GROUP BY over every event would itself take seconds)
    sample = list(Customer.objects.filter(external_id__startswith=PREFIX).values_list("pk", flat=True)[:2000])
    busiest = (Event.objects.filter(customer_id__in=sample).values("customer_id").annotate(n=Count("pk"))
               .order_by("-n").first())
    assert busiest is not None, "the benchmark shop has no events"
    some_customer = Customer.objects.get(pk=busiest["customer_id"])
    customers = reverse("admin:customers_customer_changelist")
    events = reverse("admin:customers_event_changelist")
    pages: list[tuple[str, str, Callable[[], object] | None]] = [
        (BASELINE, "/healthz", None),
        ("admin dashboard, cold cache", reverse("admin:index"), cache.clear),
        ("admin dashboard, warm cache", reverse("admin:index"), None),
        ("customer list", customers, None),
        ("customer list, page 50", customers + "?p=50", None),
        ("customer list, consent filter", customers + "?marketing_consent__exact=1", None),
        ("customer list, search", customers + f"?q={some_customer.external_id}", None),
        ("event list", events, None),
        ("event list, purchases", events + "?type__exact=purchase", None),
        ("event list, one customer", events + f"?customer__id__exact={some_customer.pk}", None),
        ("event list, search", events + f"?q={some_customer.external_id}", None),
        (f"customer page ({busiest['n']} events)",
         reverse("admin:customers_customer_change", args=[some_customer.pk]), None),
    ]
    return [_timed(client, url, label, requests, before) for label, url, before in pages]
