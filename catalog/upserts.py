"""How products and reviews are upserted by their key, and what follows a write: new and edited
products are embedded, new and edited reviews analysed, by a background job (when a worker runs).
The API (single objects and bulk) and the importer both write through these specs."""

from __future__ import annotations

from core.actors import Actor
from core.upsert import UpsertReport, UpsertSpec

from .models import Product, Review
from .serializers import ProductSerializer, ReviewSerializer, customer_model
from .tasks import request_product_embedding, request_review_analysis


def _embed_products(written: UpsertReport, actor: Actor) -> None:
    request_product_embedding(actor)


def _analyse_reviews(written: UpsertReport, actor: Actor) -> None:
    request_review_analysis(actor)


PRODUCT_UPSERT = UpsertSpec(
    model=Product, serializer_class=ProductSerializer, key="sku", after_write=_embed_products
)
REVIEW_UPSERT = UpsertSpec(
    model=Review,
    serializer_class=ReviewSerializer,
    key="external_id",
    references={"product": (Product, "sku"), "customer": (customer_model(), "external_id")},
    after_write=_analyse_reviews,
)
