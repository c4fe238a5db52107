"""Products like this one: text neighbours (pgvector) fused with the active version's item-item and co-purchase
neighbours, explained by the source that contributed most."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from catalog.models import ModelVersion, Product, ProductEmbedding

from .candidates import nearest_products, product_rows
from .ranking import Recommendation, fuse
from .serving import serving_model

SIMILAR_WEIGHTS = {"content": 1.0, "item_item": 1.0, "co_purchase": 0.8}


@dataclass
class SimilarResult:
    product_id: int
    items: list[Recommendation]
    model_version: ModelVersion | None


def similar_products(product: Product | int, k: int = 10) -> SimilarResult:
    """Products like this one: text neighbours (pgvector) fused with item-item and co-purchase neighbours of the
    active version when it knows the product. Same business rules (active, in stock); no MMR (similar is asked)."""
    if not 1 <= k <= 1000:
        raise ValueError(f"k must be between 1 and 1000, got {k}")
    product_id = product.pk if isinstance(product, Product) else int(product)
    version, tables = serving_model()
    n = max(50, 5 * k)
    lists: dict[str, list[int]] = {}
    embedding = ProductEmbedding.objects.filter(product_id=product_id).values_list("embedding", flat=True).first()
    if embedding is not None:
        lists["content"] = nearest_products(np.asarray(embedding, dtype=np.float32), n, None, {product_id})
    if tables is not None and product_id in tables.item_index:
        index = tables.item_index[product_id]
        for source, matrix in (("item_item", tables.item_item), ("co_purchase", tables.co_purchase)):
            start, end = matrix.indptr[index], matrix.indptr[index + 1]
            order = np.argsort(-matrix.data[start:end], kind="stable")
            neighbours = [int(tables.product_ids[i]) for i in matrix.indices[start:end][order] if i != index]
            if neighbours:
                lists[source] = neighbours[:n]
    fused, contributions, shares = fuse(lists, SIMILAR_WEIGHTS)
    rows = product_rows([pid for pid, _ in fused[: max(3 * k, 60)]] + [product_id])
    title = rows[product_id].title if product_id in rows else "this product"
    texts = {
        "content": f"Similar to {title}",
        "item_item": f"Customers who viewed {title} also viewed this",
        "co_purchase": f"Often bought together with {title}",
    }
    items: list[Recommendation] = []
    for pid, score in fused:
        row = rows.get(pid)
        if row is None or pid == product_id or not (row.is_active and row.in_stock):
            continue
        sources = contributions.get(pid, {})
        best = max(sources, key=lambda s: shares.get(pid, {}).get(s, 0.0))
        items.append(Recommendation(row.as_product(), score, dict(sources), texts[best], best))
        if len(items) == k:
            break
    return SimilarResult(product_id, items, version)
