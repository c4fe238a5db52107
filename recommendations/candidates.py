"""The database side of ranking: products nearest a vector (pgvector HNSW), candidate product rows with their
embeddings in one binary query, and the per-customer working set the ranker fills (`Candidates`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
from django.db import connection

from catalog.models import Product, ProductEmbedding

from .context import CustomerContext

# HNSW candidates explored, the lowest measured with recall@10 >= 0.95 against exact search plus a step of margin
# (`python -m benchmarks recommendations`, 100k products, profile vectors as queries): 100 -> 0.930, 200 -> 0.944,
# 250 -> 0.987, 300 -> 0.987, 400 -> 0.987 (3.7 ms median per top-10 query at 300, 5.5 ms at 400)
EF_SEARCH = 300


@dataclass
class Candidates:
    """One customer's ranking in progress: the source lists, their fusion, and the history behind them."""

    context: CustomerContext
    lists: dict[str, list[int]]  # source -> product ids, best first
    seeds: dict[int, float]  # history product id -> weight (recency x event type)
    seed_verbs: dict[int, str]  # history product id -> "viewed" / "added to your cart" / "bought"
    search_vectors: np.ndarray | None = None
    fused: list[tuple[int, float]] = field(default_factory=list)
    contributions: dict[int, dict[str, int]] = field(default_factory=dict)  # product -> source -> rank
    shares: dict[int, dict[str, float]] = field(default_factory=dict)  # product -> source -> share of its score
    substitute_leaves: set[str] = field(default_factory=set)  # leaves of recent purchases, not replenishable
    weights: dict[str, float] | None = None  # this customer's fusion weights, when they differ (complements)
    # "item_item" / "co_purchase" -> item index -> [(seed, weight, similarity)], filled by `reasons.seed_links`
    seed_links: dict[str, dict[int, list[tuple[int, float, float]]]] = field(default_factory=dict)


@dataclass
class ProductRow:
    id: int
    sku: str
    title: str
    category: str
    brand: str
    price: Decimal | None
    currency: str
    is_active: bool
    in_stock: bool
    vector: np.ndarray | None
    replenishable: bool = False  # Product.attributes["replenishable"] is true

    def as_product(self) -> Product:
        """An unsaved-looking Product built from the row (no extra query)."""
        product = Product(
            id=self.id, sku=self.sku, title=self.title, category=self.category, brand=self.brand,
            price=self.price, currency=self.currency, is_active=self.is_active, in_stock=self.in_stock,
        )
        product._state.adding = False
        return product


_iterative_scan: dict[str, bool] = {}


def _supports_iterative_scan() -> bool:
    """pgvector 0.8 can keep scanning the HNSW graph when filters drop results (hnsw.iterative_scan)."""
    alias = connection.alias
    if alias not in _iterative_scan:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        parts = tuple(int(p) for p in str(row[0]).split(".")[:2] if p.isdigit()) if row else ()
        _iterative_scan[alias] = parts >= (0, 8)
    return _iterative_scan[alias]


_NEAREST_SQL = """
SELECT e.product_id, e.embedding <=> %s::vector AS distance
FROM {embedding} e JOIN {product} p ON p.id = e.product_id
WHERE p.is_active AND p.in_stock{filters}
ORDER BY distance LIMIT %s
"""


def nearest_products(vector: np.ndarray, n: int, category: str | None, exclude: set[int]) -> list[int]:
    """Active, in-stock products nearest to `vector` by cosine distance, through the HNSW index.

    Filters run after the index scan, so `hnsw.ef_search` is raised to the number wanted and, on pgvector
    0.8+, `hnsw.iterative_scan` keeps scanning until enough rows pass the filters (relaxed order: the rows
    are re-sorted by distance here). The settings and the search go in one statement string: outside a
    transaction `BEGIN; SET LOCAL ...; SELECT ...; COMMIT` is one round trip instead of four.
    """
    filters, params = "", list[Any]()
    if category:  # as the ORM's `category__istartswith`
        filters += " AND UPPER(p.category::text) LIKE UPPER(%s)"
        params.append(connection.ops.prep_for_like_query(category) + "%")
    if exclude:
        filters += " AND NOT (e.product_id = ANY(%s))"
        params.append(sorted(exclude))
    settings_sql = f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, n)};"
    if _supports_iterative_scan():
        settings_sql += " SET LOCAL hnsw.iterative_scan = relaxed_order;"
    sql = _NEAREST_SQL.format(
        embedding=ProductEmbedding._meta.db_table, product=Product._meta.db_table, filters=filters
    )
    params = [_vector_text(vector), *params, n]
    connection.ensure_connection()
    own_transaction = connection.get_autocommit() and not connection.in_atomic_block
    statement = f"BEGIN; {settings_sql} {sql}; COMMIT" if own_transaction else f"{settings_sql} {sql}"
    with connection.cursor() as cursor:
        try:
            cursor.execute(statement, params)
            while cursor.description is None and cursor.cursor.nextset():  # past BEGIN and SET
                pass
            rows = cursor.fetchall()
        except Exception:
            if own_transaction:  # the string's COMMIT never ran: leave no transaction open
                connection.connection.rollback()
            raise
    rows.sort(key=lambda row: (row[1], row[0]))  # equal distances in product id order: the same ranks every time
    return [pid for pid, _ in rows]


def _vector_text(vector: np.ndarray) -> str:
    """pgvector's text form, as its Django field writes a query vector."""
    return "[" + ",".join(str(float(v)) for v in np.asarray(vector).tolist()) + "]"


_PRODUCT_ROWS_SQL = """
    SELECT p.id, p.sku, p.title, p.category, p.brand, p.price, p.currency, p.is_active, p.in_stock, e.embedding,
           coalesce(p.attributes -> 'replenishable' = 'true'::jsonb, false)
    FROM catalog_product p LEFT JOIN catalog_productembedding e ON e.product_id = p.id
    WHERE p.id = ANY(%s)
"""


def _vector_from_binary(data: bytes | None) -> np.ndarray | None:
    """pgvector's binary form: dimensions (uint16), unused (uint16), then big-endian float32 values."""
    if data is None:
        return None
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)


def product_rows(ids: Iterable[int]) -> dict[int, ProductRow]:
    """Candidate products with their embeddings in one query. Rows are fetched in binary form: parsing
    hundreds of 384-float vectors from text took longer than the rest of a request."""
    ids = list(ids)
    rows: dict[int, ProductRow] = {}
    if not ids:
        return rows
    connection.ensure_connection()
    # A plain (server-side binding) psycopg cursor on Django's connection: Django's client-side cursors
    # cannot return binary results. Same connection, so the same transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_PRODUCT_ROWS_SQL, [ids], binary=True)
        for row in cursor.fetchall():
            rows[row[0]] = ProductRow(
                id=row[0], sku=row[1], title=row[2], category=row[3], brand=row[4], price=row[5],
                currency=row[6], is_active=row[7], in_stock=row[8], vector=_vector_from_binary(row[9]),
                replenishable=bool(row[10]),
            )
    return rows
