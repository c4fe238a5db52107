"""What queues a re-index of the assistant's knowledge: a saved or deleted product, product question,
article or product insight (post_save / post_delete: the admin, the single-object API, the product
insights job, which saves each insight), and rows stored in bulk by the API or an import, which fire no
post_save (`core.upsert.rows_written`). Each queues one `index_knowledge` job when the transaction commits,
unless one is already queued; the job reads only what changed, and the beat task catches anything missed.
Connected in `AssistantConfig.ready`."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from catalog.models import Product, ProductInsight
from core.upsert import rows_written

from .models import Article, ProductQuestion
from .tasks import request_knowledge_index

SOURCES = (Product, ProductQuestion, Article, ProductInsight)
UID = "assistant.knowledge"


def queue_index(**_signal: Any) -> None:
    """Ask for an index run once the change is committed (a rolled-back change asks nothing)."""
    transaction.on_commit(request_knowledge_index)


def connect() -> None:
    for model in SOURCES:
        post_save.connect(queue_index, sender=model, dispatch_uid=f"{UID}.save.{model.__name__}")
        post_delete.connect(queue_index, sender=model, dispatch_uid=f"{UID}.delete.{model.__name__}")
        rows_written.connect(queue_index, sender=model, dispatch_uid=f"{UID}.rows.{model.__name__}")
