"""Every way rows come in (the API's single create and update, its bulk action, an import) ends with the
same post-write hook of the model's upsert spec, once: new and edited products are embedded, new and
edited reviews analysed, new events folded into profiles (an edited event, or a customer, queues nothing).

Each step runs as if a worker were there (no eager mode) and checks both the hook's call (who wrote) and
the job row it queued (queued once, recorded as started by the writer; an import is the system's write).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from core.actors import Actor
from ingest.importing import run_import
from ingest.options import build_options
from jobs.models import Job, JobStatus
from tests.catalog.builders import product
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Way:
    kind: str
    url: str
    hook: str  # the job request the spec's after_write calls, as "module.function"
    job_kind: str
    row: dict[str, Any]  # a new object, then edited by `edit`
    edit: dict[str, Any]
    bulk: dict[str, Any]  # another new object
    csv: str  # a file with a third new object
    edits_count: bool = True  # whether an edit alone queues the job


WAYS = [
    Way(
        "products", "/api/v1/products/", "catalog.upserts.request_product_embedding", "embed_products",
        row={"sku": "JUG", "title": "Jug"}, edit={"title": "Big jug"}, bulk={"sku": "CUP", "title": "Cup"},
        csv="sku,title\nPOT,Pot\n",
    ),
    Way(
        "reviews", "/api/v1/reviews/", "catalog.upserts.request_review_analysis", "analyze_reviews",
        row={"external_id": "r1", "product": "MUG", "rating": 5, "text": "Lovely"}, edit={"rating": 4},
        bulk={"external_id": "r2", "product": "MUG", "rating": 2, "text": "Chipped"},
        csv="external_id,product,rating,text\nr3,MUG,3,Fine\n",
    ),
    Way(
        "events", "/api/v1/events/", "customers.upserts.request_profile_update", "update_profiles",
        row={"external_id": "e1", "customer": "ann", "type": "search", "query": "mugs"}, edit={"query": "cups"},
        bulk={"external_id": "e2", "customer": "ann", "type": "search", "query": "teapots"},
        csv="external_id,customer,type,query\ne3,ann,search,saucers\n",
        edits_count=False,
    ),
]


def record_calls(monkeypatch: pytest.MonkeyPatch, hook: str) -> list[Actor]:
    """Who each call of the hook's job request came from; the real request still runs (and queues)."""
    module, name = hook.rsplit(".", 1)
    real: Callable[[Actor], Job | None] = getattr(importlib.import_module(module), name)
    seen: list[Actor] = []

    def recording(user: Actor = None) -> Job | None:
        seen.append(user)
        return real(user)

    monkeypatch.setattr(hook, recording)
    return seen


@pytest.mark.parametrize("way", WAYS, ids=[way.kind for way in WAYS])
def test_each_way_in_runs_the_same_hook_once(
    way: Way,
    manager: User,
    manager_client: APIClient,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = record_calls(monkeypatch, way.hook)
    product(sku="MUG", title="Mug")
    customer(external_id="ann")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as when a worker runs: requests queue jobs
    queued = Job.objects.filter(kind=way.job_kind, status=JobStatus.QUEUED)

    def check(expected: list[Actor]) -> None:
        assert calls == expected
        if expected:
            job = queued.get()  # exactly one
            assert job.created_by == expected[0]
        else:
            assert not queued.exists()
        calls.clear()
        queued.delete()

    created = manager_client.post(way.url, way.row, format="json")
    assert created.status_code == 201, created.content
    check([manager])

    edited = manager_client.patch(f"{way.url}{created.json()['id']}/", way.edit, format="json")
    assert edited.status_code == 200, edited.content
    check([manager] if way.edits_count else [])

    assert manager_client.post(f"{way.url}bulk/", [way.bulk], format="json").json()["created"] == 1
    check([manager])
    assert manager_client.post(f"{way.url}bulk/", [way.bulk], format="json").json()["updated"] == 1
    check([manager] if way.edits_count else [])

    path = tmp_path / f"{way.kind}.csv"
    path.write_text(way.csv)
    assert run_import(path, build_options(way.kind)).created == 1
    check([None])
    assert run_import(path, build_options(way.kind)).updated == 1
    check([None] if way.edits_count else [])


def test_nothing_written_runs_no_hook(manager_client: APIClient, settings: Any, tmp_path: Path) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    rejected = manager_client.post("/api/v1/products/bulk/", [{"sku": "", "title": "No SKU"}], format="json")
    assert rejected.status_code == 400
    customer(external_id="ann")
    customers = tmp_path / "c.csv"
    customers.write_text("external_id,name\nann,Ann\nbob,Bob\n")
    assert run_import(customers, build_options("customers")).created == 1  # customers have no hook
    assert manager_client.post("/api/v1/customers/", {"external_id": "cy"}, format="json").status_code == 201
    assert not Job.objects.exists()
