"""Product embeddings: each product's text (title, category path, brand, short description) as a 384-d
unit vector, the base of content recommendations, similar products and customer profiles.

A product is embedded again only when the hash of its text and the embedder's version changed, so a
re-run or a resumed job does no duplicate work; work is committed per chunk, so a killed job resumes
where it stopped (the same incremental loop as review analysis: `catalog.incremental`).
`pending_products()` are those never embedded or edited after their embedding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress
from inference import registry

from .incremental import content_hash, ids_to_do, in_chunks
from .models import Product, ProductEmbedding

CHUNK = 256  # products per model pass and per commit: a few hundred short texts, ~1-2 s on 2 CPU cores
DESCRIPTION_CHARS = 300  # the "short description": MiniLM reads 256 word pieces at most anyway


def product_text(title: str, category: str, brand: str, description: str) -> str:
    """The text that stands for a product: what a shopper would read first."""
    levels = [part.strip() for part in (category or "").split(">") if part.strip()]
    short = " ".join((description or "").split())[:DESCRIPTION_CHARS]
    parts = [(title or "").strip(), " > ".join(levels), (brand or "").strip(), short]
    return ". ".join(part for part in parts if part)


def pending_products() -> QuerySet[Product]:
    """Products without an embedding, or edited after it was made."""
    return Product.objects.filter(
        Q(embedding__isnull=True) | Q(updated_at__gt=F("embedding__updated_at"))
    ).order_by("pk")


def embed_products(
    product_ids: Iterable[int] | None = None,
    *,
    force: bool = False,
    progress: Progress = NO_PROGRESS,
    embedder: Any = None,
) -> dict[str, int]:
    """Embed the given products (default: every pending one), CHUNK at a time, committing each chunk.

    `force` embeds even products whose text is unchanged (e.g. after swapping the embedding model
    folder under the same name). Returns counts of embedded and skipped products.
    """
    ids = ids_to_do(Product.objects.all(), pending_products(), product_ids, force=force)
    progress.set_total(len(ids))
    if not ids:
        return {"embedded": 0, "skipped": 0}
    ready = embedder if embedder is not None else registry.embedder()

    def work(chunk: list[int]) -> tuple[int, int]:
        embedded = _embed_chunk(chunk, ready, force=force)
        return embedded, len(chunk) - embedded

    embedded, skipped = in_chunks(ids, CHUNK, work, progress)
    return {"embedded": embedded, "skipped": skipped}


def _embed_chunk(ids: list[int], embedder: Any, *, force: bool) -> int:
    version = str(getattr(embedder, "version", ""))
    now = timezone.now()  # before reading: an edit made while this chunk runs stays pending
    rows = Product.objects.filter(pk__in=ids).order_by("pk").values_list(
        "pk", "title", "category", "brand", "description"
    )
    stored = dict(ProductEmbedding.objects.filter(product_id__in=ids).values_list("product_id", "text_hash"))
    todo: list[tuple[int, str, str]] = []
    unchanged: list[int] = []
    for pk, title, category, brand, description in rows:
        text = product_text(title, category, brand, description)
        digest = content_hash(text, version)
        if not force and stored.get(pk) == digest:
            unchanged.append(pk)
            continue
        todo.append((pk, text, digest))
    with transaction.atomic():
        if unchanged:
            # Edited, but not in the embedded fields (price, stock): mark seen so it is not pending again.
            ProductEmbedding.objects.filter(product_id__in=unchanged).update(updated_at=now)
        if todo:
            vectors = embedder.encode([text for _, text, _ in todo])
            ProductEmbedding.objects.bulk_create(
                [
                    ProductEmbedding(
                        product_id=pk, embedding=vector, text_hash=digest, model_name=version, updated_at=now
                    )
                    for (pk, _, digest), vector in zip(todo, vectors, strict=True)
                ],
                update_conflicts=True,
                unique_fields=["product"],
                update_fields=["embedding", "text_hash", "model_name", "updated_at"],
            )
    return len(todo)
