"""How product questions are upserted by their key. The API (single objects and bulk) and the importer
(`import_data questions FILE`) write through this spec; what follows a write (re-indexing the knowledge)
listens to `core.upsert.rows_written` (see triggers.py), like every other change of a source."""

from __future__ import annotations

from catalog.models import Product
from core.upsert import UpsertSpec

from .models import ProductQuestion
from .serializers import ProductQuestionSerializer

PRODUCT_QUESTION_UPSERT = UpsertSpec(
    model=ProductQuestion,
    serializer_class=ProductQuestionSerializer,
    key="external_id",
    references={"product": (Product, "sku")},
)
