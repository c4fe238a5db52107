"""The rankings of a medium synthetic shop, as plain data: what `test_same_rankings.py` compares against the
rankings stored before the request path was made faster (`data/rankings_golden.json`).

The shop is the benchmark's generator at 2,000 products and 1,500 customers (seeded, written with COPY), with
inactive, sold-out and replenishable products mixed in, profiles rebuilt at a fixed moment and a recommender
trained on it, so every source and rule of the ranker has work at sizes where the top-n selections are partial.
Products and customers are named by SKU and external id (database ids differ from run to run).

The stored file was written by `write_golden()` (after `build()`, in a scratch database) with the ranking and
profile code of 7c146b4, the commit before the speed work, and the shop builder of `benchmarks/shop.py` as it is
now (the builder changed afterwards: numpy draws in chunks); regenerate it the same way only when a ranking
change is intended.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection

from benchmarks.shop import PREFIX, ShopSize, build_shop
from customers.models import Customer
from customers.profiles import rebuild_profiles
from recommendations.ranking import Ranker, RecommendationResult, recommend_for_customer
from recommendations.serving import forget_loaded_model
from recommendations.similar import similar_products
from recommendations.training import train_recommender

GOLDEN = Path(__file__).parent / "data" / "rankings_golden.json.gz"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
SIZE = ShopSize(products=2_000, customers=1_500, categories=40)
ONE_BY_ONE = 60  # customers ranked one request at a time (the API's path)
BATCH = 600  # customers ranked together (the batch job's path)
SIMILAR = 40


def build() -> None:
    """The shop, its rules' variety, profiles and an active recommender version."""
    build_shop(SIZE, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE catalog_product SET
                is_active = (substring(sku, %(n)s)::int %% 17 <> 3),
                in_stock = (substring(sku, %(n)s)::int %% 13 <> 5),
                attributes = CASE WHEN substring(sku, %(n)s)::int %% 11 = 0
                                  THEN '{"replenishable": true}'::jsonb ELSE '{}'::jsonb END
            WHERE sku LIKE %(prefix)s
            """,
            {"n": len(PREFIX) + 1, "prefix": PREFIX + "%"},
        )
    rebuild_profiles(now=NOW)
    forget_loaded_model()
    train_recommender(name="golden")


def _items(result: RecommendationResult) -> dict[str, Any]:
    return {
        "personalised": result.personalised,
        "fallback": result.fallback,
        "items": [
            [item.product.sku, round(item.score, 9), item.reason, item.reason_source, item.sources]
            for item in result.items
        ],
    }


def rankings() -> dict[str, Any]:
    """Every ranking compared: one by one with the API's options, the batch job's, and similar products."""
    customers = dict(
        Customer.objects.filter(external_id__startswith=PREFIX).order_by("external_id").values_list("pk", "external_id")
    )
    ids = list(customers)
    out: dict[str, Any] = {}
    for pk in ids[:ONE_BY_ONE]:
        name = customers[pk]
        out[f"{name} k=10"] = _items(recommend_for_customer(pk, k=10, now=NOW))
        out[f"{name} k=5 category=Group 3"] = _items(recommend_for_customer(pk, k=5, category="Group 3", now=NOW))
        out[f"{name} k=15 all"] = _items(recommend_for_customer(pk, k=15, exclude_purchased=False, now=NOW))
    batch = Ranker.active().recommend(ids[:BATCH], k=10, now=NOW)
    for pk, result in batch.items():
        out[f"{customers[pk]} batch"] = _items(result)
    from catalog.models import Product

    for pk, sku in Product.objects.filter(sku__startswith=PREFIX).order_by("sku").values_list("pk", "sku")[:SIMILAR]:
        similar = similar_products(pk, k=10)
        out[f"similar {sku}"] = [[item.product.sku, round(item.score, 9), item.reason] for item in similar.items]
    return out


def write_golden() -> None:
    GOLDEN.write_bytes(gzip.compress(json.dumps(rankings(), sort_keys=True).encode(), mtime=0))


def read_golden() -> dict[str, Any]:
    return dict(json.loads(gzip.decompress(GOLDEN.read_bytes())))
