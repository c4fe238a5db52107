"""Bulk upsert throughput (validation + reference lookup + ON CONFLICT) against raw bulk_create."""

from __future__ import annotations

import json
from decimal import Decimal

from .common import Result, median_time

ROWS = 5000


def run() -> list[Result]:
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from catalog.models import Product
    from catalog.upserts import PRODUCT_UPSERT
    from core.upsert import upsert

    rows = [
        {
            "sku": f"BENCH-{i:06d}",
            "title": f"Bench product {i}",
            "description": "A product used to measure ingest speed. " * 3,
            "category": "Bench > Things",
            "brand": "Benchmark",
            "price": f"{(i % 500) + 0.99:.2f}",
            "attributes": {"color": "red", "size": i % 5},
        }
        for i in range(ROWS)
    ]

    def clear() -> None:
        Product.objects.filter(sku__startswith="BENCH-").delete()

    def raw() -> None:
        Product.objects.bulk_create(
            [Product(**{**row, "price": Decimal(str(row["price"]))}) for row in rows], batch_size=1000
        )

    raw_s = median_time(raw, setup=clear)
    insert_s = median_time(lambda: upsert(PRODUCT_UPSERT, rows), setup=clear)
    update_s = median_time(lambda: upsert(PRODUCT_UPSERT, rows))  # rows exist now: all updates

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    client = APIClient()
    client.force_authenticate(user)
    body = json.dumps(rows)

    def api() -> None:
        response = client.post("/api/v1/products/bulk/", body, content_type="application/json")
        assert response.status_code == 200, response.content[:500]

    api_s = median_time(api, setup=clear)
    clear()
    base = "products: raw bulk_create (baseline)"
    return [
        Result(base, "rows", ROWS, raw_s),
        Result("products: upsert, all new", "rows", ROWS, insert_s, baseline=base),
        Result("products: upsert, all existing", "rows", ROWS, update_s, baseline=base),
        Result("products: POST /bulk/ (HTTP, JSON)", "rows", ROWS, api_s, baseline=base),
    ]
