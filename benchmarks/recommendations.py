"""Recommendations at scale: 100,000 products and 100,000 customers (about 1.1 million events).

- HNSW recall@10 of the product index against exact search, and its speed against brute force (numpy) on the
  same queries;
- profile rebuild throughput (customers per second), segment clustering and recommender training time;
- one customer's recommendations through the API: median and p99 latency, against a popularity recommender
  served through the same API (a customer with no history gets the popularity fallback);
- top-10 for 10,000 customers by the batch job.
Sizes can be lowered with BENCH_SHOP_PRODUCTS / BENCH_SHOP_CUSTOMERS for a quick look; BENCH_SKIP_REBUILD=1
reuses the profiles of an earlier run (the rebuild takes minutes at full size).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from .common import Result
from .shop import PREFIX, ShopSize, build_shop

REQUESTS = 300
QUERIES = 200
EF_SEARCH_TRIED = (40, 64, 100, 150, 200, 400)  # HNSW ef_search values measured; the ranker's is marked "serving"
BATCH_CUSTOMERS = 10_000


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def _hnsw_recall(rng: np.random.Generator) -> list[Result]:
    from django.db import connection
    from pgvector.django import CosineDistance

    from catalog.models import ProductEmbedding
    from customers.models import CustomerProfile
    from recommendations.candidates import EF_SEARCH

    pks, vectors = [], []
    for pk, vector in ProductEmbedding.objects.filter(product__sku__startswith=PREFIX).values_list(
        "product_id", "embedding"
    ).iterator(chunk_size=10_000):
        pks.append(pk)
        vectors.append(vector)
    ids = np.array(pks)
    matrix = np.vstack(vectors).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    profiles = list(
        CustomerProfile.objects.filter(vector__isnull=False, customer__external_id__startswith=PREFIX)
        .values_list("vector", flat=True)[:QUERIES]
    )
    if profiles:
        queries = np.vstack([np.asarray(p) for p in profiles]).astype(np.float32)
    else:
        queries = matrix[rng.choice(len(matrix), QUERIES)]
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    start = time.perf_counter()
    exact = [set(ids[np.argpartition(-(matrix @ q), 10)[:10]]) for q in queries]
    brute_s = (time.perf_counter() - start) / len(queries)

    results = []
    for ef in sorted({*EF_SEARCH_TRIED, EF_SEARCH}):
        found, times = [], []
        with connection.cursor() as cursor:
            cursor.execute(f"SET hnsw.ef_search = {ef}")
        for q in queries:
            start = time.perf_counter()
            top = list(
                ProductEmbedding.objects.order_by(CosineDistance("embedding", q)).values_list("product_id", flat=True)[
                    :10
                ]
            )
            times.append(time.perf_counter() - start)
            found.append(set(top))
        recall = statistics.mean(len(f & e) / 10 for f, e in zip(found, exact, strict=True))
        serving = " (serving)" if ef == EF_SEARCH else ""
        print(f"HNSW ef_search={ef}{serving}: recall@10 {recall:.3f} against exact search over {len(ids):,} products; "
              f"median {statistics.median(times) * 1000:.1f} ms, p99 {_percentile(times, 99) * 1000:.1f} ms per query")
        results.append(Result(f"HNSW top-10, ef_search={ef}{serving} (recall {recall:.3f})", "queries", 1,
                              statistics.median(times), baseline="exact top-10, numpy brute force (baseline)"))
    with connection.cursor() as cursor:
        cursor.execute("RESET hnsw.ef_search")
    return [Result("exact top-10, numpy brute force (baseline)", "queries", 1, brute_s), *results]


def _latency(client: object, customer_ids: list[int], label: str, baseline: str | None) -> Result:
    times = []
    for cid in customer_ids:
        start = time.perf_counter()
        response = client.get(f"/api/v1/customers/{cid}/recommendations/?k=10")  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.content[:300]
    median, p99 = statistics.median(times), _percentile(times, 99)
    print(f"{label}: median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms over {len(times)} requests")
    return Result(f"{label} (p99 {p99 * 1000:.0f} ms)", "requests", 1, median, baseline=baseline)


def run() -> list[Result]:
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from customers.models import Customer, CustomerProfile
    from customers.profiles import rebuild_profiles
    from customers.segments import rebuild_segments
    from recommendations.precompute import precompute_recommendations
    from recommendations.serving import forget_loaded_model
    from recommendations.training import train_recommender

    size = ShopSize(
        products=int(os.environ.get("BENCH_SHOP_PRODUCTS", 100_000)),
        customers=int(os.environ.get("BENCH_SHOP_CUSTOMERS", 100_000)),
    )
    rng = np.random.default_rng(11)
    start = time.perf_counter()
    counts = build_shop(size)
    print(f"shop: {counts} (built or found in {time.perf_counter() - start:.0f} s)", flush=True)
    results: list[Result] = []

    customers = Customer.objects.filter(external_id__startswith=PREFIX).count()
    if os.environ.get("BENCH_SKIP_REBUILD") and CustomerProfile.objects.exists() and not counts.get(
        "embeddings_rewritten"
    ):
        print("profile rebuild skipped (BENCH_SKIP_REBUILD)", flush=True)
    else:
        start = time.perf_counter()
        rebuild_profiles()
        rebuild_s = time.perf_counter() - start
        print(f"profile rebuild: {customers:,} customers in {rebuild_s:.1f} s", flush=True)
        results.append(Result("profiles: full rebuild", "customers", customers, rebuild_s))
        start = time.perf_counter()
        outcome = rebuild_segments()
        segments_s = time.perf_counter() - start
        print(f"behavioural segments: {outcome.get('segments')} in {segments_s:.1f} s", flush=True)
        results.append(Result("segments: cluster profile vectors", "customers", customers, segments_s))

    results.extend(_hnsw_recall(rng))

    start = time.perf_counter()
    version = train_recommender(name=f"bench-{int(time.time())}")
    train_s = time.perf_counter() - start
    print(f"recommender training: {train_s:.1f} s; {version.params}", flush=True)
    results.append(Result("recommender: train (events)", "events", counts["events"], train_s))
    forget_loaded_model()

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    client = APIClient()
    client.force_authenticate(user)
    with_profile = list(
        CustomerProfile.objects.filter(customer__external_id__startswith=PREFIX, vector__isnull=False)
        .values_list("customer_id", flat=True)
    )
    sample = [int(x) for x in rng.choice(with_profile, REQUESTS, replace=False)]
    nobody, _ = Customer.objects.get_or_create(external_id=f"{PREFIX}nobody", defaults={"name": "No history"})
    client.get(f"/api/v1/customers/{sample[0]}/recommendations/?k=10")  # load the version's tables once
    base = "API: popularity fallback, no history (baseline)"
    results.append(_latency(client, [nobody.pk] * REQUESTS, base, None))
    results.append(_latency(client, sample, "API: one customer's top-10, hybrid", base))

    batch = [int(x) for x in rng.choice(with_profile, min(BATCH_CUSTOMERS, len(with_profile)), replace=False)]
    start = time.perf_counter()
    precompute_recommendations(customer_ids=batch, k=10)
    batch_s = time.perf_counter() - start
    print(f"batch top-10: {len(batch):,} customers in {batch_s:.1f} s", flush=True)
    results.append(Result("batch job: top-10 per customer", "customers", len(batch), batch_s))
    return results
