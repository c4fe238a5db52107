"""Profile rebuild at 100,000 customers and about 1.1 million events (the shop of `benchmarks/shop.py`).

- baseline: the floor of any rebuild, one SQL pass that sums every event's decayed weight per customer and
  product (`customers.event_weights`, all customers in one statement) and fetches the rows;
- the full rebuild (`rebuild_profiles`: vectors, interests, orders, RFM, lifecycle), customers per second;
- an incremental update of 10,000 customers (`update_profiles`), which also re-reads their stored sums;
- behavioural segments (`rebuild_segments`) on the rebuilt profiles.
Medians of BENCH_PROFILE_REPEATS runs (default 3). Sizes can be lowered with BENCH_SHOP_PRODUCTS /
BENCH_SHOP_CUSTOMERS for a quick look.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import numpy as np

from .common import Result, median_time
from .shop import PREFIX, ShopSize, build_shop

UPDATE_SAMPLE = 10_000
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the shop's own clock (`build_shop`)


def _floor(customer_ids: list[int]) -> None:
    from customers.event_weights import read_weights
    from customers.models import Event

    snapshot = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    read_weights(customer_ids, [0] * len(customer_ids), snapshot=snapshot, now=NOW, carried=True)


def run() -> list[Result]:
    from customers.models import Customer
    from customers.profiles import rebuild_profiles, update_profiles
    from customers.segments import rebuild_segments

    size = ShopSize(
        products=int(os.environ.get("BENCH_SHOP_PRODUCTS", 100_000)),
        customers=int(os.environ.get("BENCH_SHOP_CUSTOMERS", 100_000)),
    )
    repeats = int(os.environ.get("BENCH_PROFILE_REPEATS", 3))
    start = time.perf_counter()
    counts = build_shop(size)
    print(f"shop: {counts} (built or found in {time.perf_counter() - start:.0f} s)", flush=True)
    ids = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    shop_customers = Customer.objects.filter(external_id__startswith=PREFIX).count()
    print(f"{len(ids):,} customers ({shop_customers:,} of the shop)", flush=True)

    base = "profiles: SQL floor, decayed event weights (baseline)"
    floor_s = median_time(lambda: _floor(ids), repeats)
    print(f"{base}: {floor_s:.1f} s", flush=True)
    results = [Result(base, "customers", len(ids), floor_s)]

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rebuild_profiles(now=NOW)
        times.append(time.perf_counter() - start)
        print(f"profile rebuild: {len(ids):,} customers in {times[-1]:.1f} s", flush=True)
    results.append(Result("profiles: full rebuild", "customers", len(ids), float(np.median(times)), baseline=base))

    sample = [int(x) for x in np.random.default_rng(5).choice(ids, min(UPDATE_SAMPLE, len(ids)), replace=False)]
    update_s = median_time(lambda: update_profiles(sample, now=NOW), repeats)
    print(f"profile update: {len(sample):,} customers in {update_s:.1f} s", flush=True)
    results.append(Result("profiles: update 10k customers", "customers", len(sample), update_s, baseline=base))

    segments_s = median_time(lambda: rebuild_segments(now=NOW), repeats)
    print(f"behavioural segments: {segments_s:.1f} s", flush=True)
    results.append(Result("segments: cluster profile vectors", "customers", len(ids), segments_s, baseline=base))
    return results
