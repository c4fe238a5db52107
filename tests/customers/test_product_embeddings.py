"""Product embeddings: text, skip-unchanged by hash, pending detection, queued jobs on API and import; the
real embedder and the profile jobs end to end in a slow test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from catalog.models import Product, ProductEmbedding
from catalog.product_embeddings import embed_products, pending_products, product_text
from customers.models import CustomerProfile, Segment
from ingest.importing import run_import
from ingest.options import build_options
from jobs.models import Job, JobStatus
from jobs.params import JobParamsError
from jobs.runner import start_job
from tests.catalog.builders import product
from tests.customers.builders import customer, event
from tests.progress import RecordedProgress
from tests.vectors import FakeEmbedder, fake_embed

pytestmark = pytest.mark.django_db


def test_product_text_reads_title_path_brand_and_short_description() -> None:
    text = product_text("Mug", "Home>Kitchen >  Mugs", "Clayco", "Holds   tea. " + "x" * 1000)
    assert text.startswith("Mug. Home > Kitchen > Mugs. Clayco. Holds tea. x")
    assert len(text) < 400
    assert product_text("Mug", "", "", "") == "Mug"


def test_embed_skips_unchanged_and_follows_edits() -> None:
    mug = product(title="Mug", category="Home > Kitchen")
    pot = product(title="Teapot")
    fake = FakeEmbedder()
    progress = RecordedProgress()
    assert embed_products(embedder=fake, progress=progress) == {"embedded": 2, "skipped": 0}
    assert (progress.totals, progress.done) == ([2], 2)
    stored = ProductEmbedding.objects.get(product=mug)
    np.testing.assert_allclose(np.asarray(stored.embedding), fake_embed([fake.seen[0]])[0], atol=1e-6)
    assert stored.model_name == "fake-v1" and len(stored.text_hash) == 64
    assert not pending_products().exists()
    assert embed_products(embedder=fake) == {"embedded": 0, "skipped": 0}  # nothing pending
    mug.price = 99
    mug.save()  # edited, but not its text
    assert list(pending_products()) == [mug]
    assert embed_products(embedder=fake) == {"embedded": 0, "skipped": 1}
    assert not pending_products().exists()
    pot.title = "Glass teapot"
    pot.save()
    assert embed_products(embedder=fake) == {"embedded": 1, "skipped": 0}
    assert "Glass teapot" in fake.seen[-1]
    assert embed_products([mug.pk, pot.pk], embedder=fake, force=True) == {"embedded": 2, "skipped": 0}
    assert embed_products([999_999], embedder=fake) == {"embedded": 0, "skipped": 0}  # unknown ids: nothing


def test_products_from_api_and_import_queue_one_embedding_when_a_worker_runs(
    manager_client: APIClient, settings: Any, tmp_path: Path
) -> None:
    payload = {"sku": "MUG-1", "title": "Mug"}
    created = manager_client.post("/api/v1/products/", payload, format="json")
    assert created.status_code == 201
    assert not Job.objects.filter(kind="embed_products").exists()  # eager mode: never from a request
    settings.CELERY_TASK_ALWAYS_EAGER = False
    url = f"/api/v1/products/{created.json()['id']}/"
    assert manager_client.patch(url, {"title": "Big mug"}, format="json").status_code == 200
    assert Job.objects.filter(kind="embed_products", status=JobStatus.QUEUED).count() == 1
    rows = [{"sku": "MUG-2", "title": "Cup"}]
    assert manager_client.post("/api/v1/products/bulk/", rows, format="json").status_code == 200
    queued = Job.objects.filter(kind="embed_products", status=JobStatus.QUEUED)
    assert queued.count() == 1 and queued.get().queue == "inference"
    queued.delete()
    path = tmp_path / "products.csv"
    path.write_text("sku,title\nMUG-3,Saucer\n")
    run_import(path, build_options("products"))
    assert Job.objects.filter(kind="embed_products", status=JobStatus.QUEUED).count() == 1
    events = tmp_path / "events.csv"
    events.write_text("customer,type,query,occurred_at\nc-x,search,mugs,2025-05-01T10:00:00Z\n")
    report = run_import(events, build_options("events", create_missing=True))
    assert report.created == 1
    assert Job.objects.filter(kind="update_profiles", status=JobStatus.QUEUED).count() == 1


@pytest.mark.slow
def test_real_embedder_and_profile_jobs_end_to_end(run_on_commit: None) -> None:
    mug = product(title="Ceramic coffee mug", category="Home > Kitchen > Mugs", description="Holds 350 ml.")
    cup = product(title="Porcelain tea cup", category="Home > Kitchen > Mugs")
    shoe = product(title="Trail running shoe", category="Sports > Running > Shoes")
    job = start_job("embed_products", {})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.counts == {"embedded": 3, "skipped": 0}
    vectors = {p.pk: np.asarray(ProductEmbedding.objects.get(product=p).embedding) for p in (mug, cup, shoe)}
    assert float(vectors[mug.pk] @ vectors[cup.pk]) > float(vectors[mug.pk] @ vectors[shoe.pk])
    ann = customer()
    event(ann, "view", product=mug, days_ago=1)
    event(ann, "search", days_ago=0, query="espresso cups")
    job = start_job("rebuild_profiles", {"now": "2025-06-01T12:00:00Z"})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["profiles"] == 1 and job.result["segments"]["segments"] == 0  # too few to cluster
    profile = CustomerProfile.objects.get(customer=ann)
    assert profile.vector is not None and profile.weight_sum > 1
    assert Segment.objects.filter(kind=Segment.Kind.LIFECYCLE).count() == 6
    event(ann, "view", product=cup)
    job = start_job("update_profiles", {"customer_ids": [ann.pk], "now": "2025-06-01T12:00:00Z"})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    with pytest.raises(JobParamsError, match="ISO 8601"):  # refused when created, not failed when run
        start_job("update_profiles", {"now": "yesterday"})
    assert Product.objects.count() == 3
