"""A large synthetic shop for the recommendation benchmark, written with COPY (minutes, not hours).

Products fall in categories whose embeddings cluster around a category centre, and each customer favours one
or two categories, so content, collaborative and popularity signals all carry information, as in a real shop.
Popularity inside a category follows a Zipf law. Every row is tagged (`BENCHSHOP-` ids) so a rerun reuses it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection

PREFIX = "BENCHSHOP-"
DIMENSIONS = 384


@dataclass(frozen=True)
class ShopSize:
    products: int = 100_000
    customers: int = 100_000
    events_per_customer: float = 10.0
    categories: int = 200
    days: int = 180
    seed: int = 7


def _copy(table: str, columns: list[str], rows: io.StringIO) -> None:
    rows.seek(0)
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)


def _ids(table: str, key: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key}, id FROM {table} WHERE {key} LIKE %s", [PREFIX + "%"])
        return dict(cursor.fetchall())


def build_shop(size: ShopSize, now: datetime | None = None) -> dict[str, int]:
    """Create the shop unless it is there already; returns row counts."""
    from catalog.models import Product
    from customers.models import Customer, Event

    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    existing = Product.objects.filter(sku__startswith=PREFIX).count()
    if existing >= size.products:
        rewritten = _refresh_embeddings(size, now.isoformat())
        return {
            "embeddings_rewritten": rewritten,
            "products": existing,
            "customers": Customer.objects.filter(external_id__startswith=PREFIX).count(),
            "events": Event.objects.filter(external_id__startswith=PREFIX).count(),
        }
    rng = np.random.default_rng(size.seed)
    product_category = rng.integers(0, size.categories, size.products)
    groups = 20
    created = now.isoformat()

    rows = io.StringIO()
    for i, cat in enumerate(product_category):
        category = f"Group {cat % groups} > Category {cat}"
        price = f"{rng.uniform(2, 200):.2f}"
        rows.write(
            f"{PREFIX}{i:06d}\tBench product {i} of category {cat}\t\t{category}\tBrand {i % 500}\t{price}\tGBP"
            f"\tt\tt\t{{}}\t{created}\t{created}\n"
        )
    _copy(
        "catalog_product",
        ["sku", "title", "description", "category", "brand", "price", "currency", "is_active", "in_stock",
         "attributes", "created_at", "updated_at"],
        rows,
    )
    product_ids = _ids("catalog_product", "sku")
    product_pk = np.array([product_ids[f"{PREFIX}{i:06d}"] for i in range(size.products)])

    _write_embeddings(size, product_category, product_pk, created)

    rows = io.StringIO()
    for i in range(size.customers):
        rows.write(f"{PREFIX}{i:06d}\t\tBench customer {i}\ten\t\tt\t{{}}\t{created}\t{created}\n")
    _copy(
        "customers_customer",
        ["external_id", "email", "name", "locale", "timezone", "marketing_consent", "attributes", "created_at",
         "updated_at"],
        rows,
    )
    customer_ids = _ids("customers_customer", "external_id")

    # Products of each category ranked by a Zipf popularity, so a few items per category dominate.
    by_category = [np.flatnonzero(product_category == c) for c in range(size.categories)]
    favourite = rng.integers(0, size.categories, (size.customers, 2))
    counts = rng.poisson(size.events_per_customer, size.customers) + 1
    rows = io.StringIO()
    n_events = 0
    for i in range(size.customers):
        customer_pk = customer_ids[f"{PREFIX}{i:06d}"]
        for j in range(counts[i]):
            cat = favourite[i, 0] if rng.random() < 0.6 else (
                favourite[i, 1] if rng.random() < 0.6 else rng.integers(0, size.categories)
            )
            members = by_category[cat]
            if len(members) == 0:
                continue
            rank = min(int(rng.zipf(1.6)) - 1, len(members) - 1)
            product = product_pk[members[rank]]
            roll = rng.random()
            kind = "purchase" if roll < 0.15 else "add_to_cart" if roll < 0.3 else "view"
            when = (now - timedelta(days=float(rng.uniform(0, size.days)))).isoformat()
            order = f"{PREFIX}O{i}-{j // 3}" if kind == "purchase" else ""
            quantity, value = ("1", f"{rng.uniform(2, 200):.2f}") if kind == "purchase" else ("\\N", "\\N")
            rows.write(
                f"{PREFIX}{i}-{j}\t{customer_pk}\t{product}\t{kind}\t\t{order}\t{quantity}\t{value}\t{{}}\t{when}\t{created}\n"
            )
            n_events += 1
    _copy(
        "customers_event",
        ["external_id", "customer_id", "product_id", "type", "query", "order_id", "quantity", "value", "attributes",
         "occurred_at", "created_at"],
        rows,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product; ANALYZE catalog_productembedding; ANALYZE customers_customer;"
                       " ANALYZE customers_event")
    return {"products": size.products, "customers": size.customers, "events": n_events}


EMBEDDINGS_VERSION = "bench-v2"  # stored as the text hash: a shop with older vectors gets them rewritten
LATENT = 48  # intrinsic dimensions of the synthetic embeddings
SUBCATEGORIES = 10


def product_vectors(size: ShopSize, product_category: np.ndarray) -> np.ndarray:
    """Unit vectors with the structure of real text embeddings: a low intrinsic dimension and a graded
    similarity (same sub-category > same category > the rest) rather than isotropic noise, which makes every
    product of a category equidistant from a query (no real catalogue looks like that)."""
    rng = np.random.default_rng(size.seed + 1)
    basis = np.linalg.qr(rng.normal(size=(DIMENSIONS, LATENT)))[0].astype(np.float32)  # 384 x 48, orthonormal
    centres = rng.normal(size=(size.categories, LATENT)).astype(np.float32)
    subcentres = centres[:, None, :] + 0.6 * rng.normal(size=(size.categories, SUBCATEGORIES, LATENT))
    sub = rng.integers(0, SUBCATEGORIES, len(product_category))
    latent = subcentres[product_category, sub] + 0.5 * rng.normal(size=(len(product_category), LATENT))
    vectors = latent.astype(np.float32) @ basis.T
    vectors += 0.02 * rng.normal(size=vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _write_embeddings(size: ShopSize, product_category: np.ndarray, product_pk: np.ndarray, created: str) -> None:
    vectors = product_vectors(size, product_category)
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS product_embedding_hnsw")
        cursor.execute("DELETE FROM catalog_productembedding WHERE product_id = ANY(%s)", [product_pk.tolist()])
    rows = io.StringIO()
    for pk, vector in zip(product_pk, vectors, strict=True):
        rows.write(f"{pk}\t[{','.join(f'{x:.5f}' for x in vector)}]\t{EMBEDDINGS_VERSION}\tbench\t{created}\n")
    _copy("catalog_productembedding", ["product_id", "embedding", "text_hash", "model_name", "updated_at"], rows)
    _create_hnsw()


def _refresh_embeddings(size: ShopSize, created: str) -> bool:
    """Rewrite the vectors of a shop built by an older version of this module; True when it did."""
    from catalog.models import Product, ProductEmbedding

    if not ProductEmbedding.objects.filter(product__sku__startswith=PREFIX).exclude(
        text_hash=EMBEDDINGS_VERSION
    ).exists():
        return False
    rows = list(Product.objects.filter(sku__startswith=PREFIX).order_by("sku").values_list("pk", "category"))
    product_pk = np.array([pk for pk, _ in rows])
    product_category = np.array([int(category.rsplit(" ", 1)[1]) for _, category in rows])
    _write_embeddings(size, product_category, product_pk, created)
    return True


def _create_hnsw() -> None:
    """Build the index after the bulk load (much faster than growing it row by row), same definition as the
    migration."""
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS product_embedding_hnsw ON catalog_productembedding "
            "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )


def drop_shop() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_customer WHERE external_id LIKE %s", [PREFIX + "%"])
        cursor.execute("DELETE FROM catalog_product WHERE sku LIKE %s", [PREFIX + "%"])
