"""A large synthetic shop for the recommendation benchmark, written with COPY (minutes, not hours).

Products fall in categories whose embeddings cluster around a category centre, and each customer favours one
or two categories, so content, collaborative and popularity signals all carry information, as in a real shop.
Popularity inside a category follows a Zipf law. Every row is tagged (`BENCHSHOP-` ids) so a rerun reuses it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection

PREFIX = "BENCHSHOP-"
CHUNK_ROWS = 200_000  # rows formatted and sent to COPY at a time
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


def _copy_chunks(table: str, columns: list[str], chunks: Iterator[tuple[str, int]]) -> int:
    """One COPY fed chunk by chunk (a few hundred thousand rows each): memory stays flat at 10 M events, and a
    failure rolls the whole table's rows back. Returns the rows written."""
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for text, rows in chunks:
            copy.write(text)
            written += rows
            print(f"  {table}: {written:,} rows", flush=True)
    return written


def _customer_rows(size: ShopSize, created: str) -> Iterator[tuple[str, int]]:
    for first in range(0, size.customers, CHUNK_ROWS):
        last = min(first + CHUNK_ROWS, size.customers)
        yield "".join(
            f"{PREFIX}{i:06d}\t\tBench customer {i}\ten\t\tt\t{{}}\t{created}\t{created}\n" for i in range(first, last)
        ), last - first


def _event_rows(
    size: ShopSize, rng: np.random.Generator, product_category: np.ndarray, product_pk: np.ndarray,
    customer_pk: np.ndarray, now: datetime, created: str,
) -> Iterator[tuple[str, int]]:
    """Each customer's events, drawn in numpy per chunk of customers: a favourite category 60% of the time,
    a second one 60% of the rest, else any; inside a category a Zipf popularity rank; 15% purchases (three
    lines an order), 15% add-to-cart, the rest views, spread over `size.days`."""
    by_category = np.argsort(product_category, kind="stable")  # product indexes grouped by category
    members = np.bincount(product_category, minlength=size.categories)
    offsets = np.concatenate([[0], np.cumsum(members)[:-1]])
    favourite = rng.integers(0, size.categories, (size.customers, 2))
    counts = rng.poisson(size.events_per_customer, size.customers) + 1
    per_chunk = max(1, int(CHUNK_ROWS // (size.events_per_customer + 1)))
    pks = customer_pk.tolist()
    for first in range(0, size.customers, per_chunk):
        last = min(first + per_chunk, size.customers)
        n = counts[first:last]
        who = np.repeat(np.arange(first, last), n)
        j = np.arange(len(who)) - np.repeat(np.cumsum(n) - n, n)
        m = len(who)
        first_pick, second_pick = rng.random(m) < 0.6, rng.random(m) < 0.6
        category = np.where(first_pick, favourite[who, 0],
                            np.where(second_pick, favourite[who, 1], rng.integers(0, size.categories, m)))
        keep = members[category] > 0
        rank = np.minimum(rng.zipf(1.6, m) - 1, np.maximum(members[category] - 1, 0))
        product = product_pk[by_category[np.minimum(offsets[category] + rank, len(by_category) - 1)]]
        roll = rng.random(m)
        kind = np.where(roll < 0.15, "purchase", np.where(roll < 0.3, "add_to_cart", "view"))
        seconds = rng.uniform(0, size.days * 86400, m)
        value = rng.uniform(2, 200, m)
        lines = []
        for i, jj, pk, k, ago, v, ok in zip(who.tolist(), j.tolist(), product.tolist(), kind.tolist(),
                                            seconds.tolist(), value.tolist(), keep.tolist(), strict=True):
            if not ok:
                continue
            when = (now - timedelta(seconds=ago)).isoformat()
            bought = k == "purchase"
            order_id = f"{PREFIX}O{i}-{jj // 3}" if bought else ""
            quantity, amount = ("1", f"{v:.2f}") if bought else ("\\N", "\\N")
            lines.append(f"{PREFIX}{i}-{jj}\t{pks[i]}\t{pk}\t{k}\t\t{order_id}\t{quantity}\t{amount}\t{{}}"
                         f"\t{when}\t{created}\n")
        yield "".join(lines), len(lines)


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

    _copy_chunks(
        "customers_customer",
        ["external_id", "email", "name", "locale", "timezone", "marketing_consent", "attributes", "created_at",
         "updated_at"],
        _customer_rows(size, created),
    )
    customer_ids = _ids("customers_customer", "external_id")
    customer_pk = np.array([customer_ids[f"{PREFIX}{i:06d}"] for i in range(size.customers)])
    del customer_ids
    n_events = _copy_chunks(
        "customers_event",
        ["external_id", "customer_id", "product_id", "type", "query", "order_id", "quantity", "value", "attributes",
         "occurred_at", "created_at"],
        _event_rows(size, rng, product_category, product_pk, customer_pk, now, created),
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
