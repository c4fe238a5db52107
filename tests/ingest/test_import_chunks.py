"""An import job in chunks of records: rows spread over several chunk tasks, rejections named by their line
and merged in order, one errors file, after-write hooks once, and a chunk written twice storing nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import Product
from jobs import chunks
from jobs.models import JobChunk, JobStatus
from jobs.runner import start_job

pytestmark = pytest.mark.django_db

ROWS = "sku,title,price\nA1,Mug,9.5\nB2,Teapot,-1\nC3,Cup,2\nD4,Pot,x\nE5,Jar,3\n"


def test_an_import_in_chunks_merges_its_reports_and_errors(
    media: Path, run_on_commit: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.JOB_CHUNK_SIZE = 2
    hooks: list[tuple[int, int]] = []
    monkeypatch.setattr(
        "ingest.tasks.after_import", lambda kind, created, updated: hooks.append((created, updated))
    )
    path = media / "products.csv"
    path.write_text(ROWS)
    errors_path = media / "products.csv.errors.csv"
    job = start_job("import_data", {"kind": "products", "path": str(path), "errors_path": str(errors_path)})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks.count() == 3  # 5 records, 2 per chunk
    assert job.counts == {"created": 3, "updated": 0, "rejected": 2}
    assert (job.progress_done, job.progress_total) == (5, 5)
    assert [(e["line"], e["field"]) for e in job.result["errors"]] == [(3, "price"), (5, "price")]
    assert job.result["rows"] == 5 and job.result["created"] == 3 and job.result["rejected"] == 2
    lines = errors_path.read_text().splitlines()
    assert lines[0] == "line,field,message" and [line.split(",")[0] for line in lines[1:]] == ["3", "5"]
    assert not list(media.glob("products.csv.errors.csv.part-*"))  # the chunks' parts joined and removed
    assert hooks == [(3, 0)]  # what follows the writes starts once, for the whole file
    assert set(Product.objects.values_list("sku", flat=True)) == {"A1", "C3", "E5"}

    first = JobChunk.objects.get(job=job, index=0)  # delivered again after its worker died
    JobChunk.objects.filter(pk=first.pk).update(status=JobStatus.QUEUED)
    job.status = JobStatus.RUNNING
    job.save(update_fields=["status"])
    assert chunks.execute_chunk(first.pk) == JobStatus.SUCCEEDED
    first.refresh_from_db()
    assert first.counts == {"created": 0, "updated": 1, "rejected": 1}  # an upsert: nothing stored twice
    assert Product.objects.count() == 3


def test_a_file_that_cannot_be_imported_fails_the_plan_before_any_chunk(media: Path, run_on_commit: Any) -> None:
    path = media / "bad.csv"
    path.write_bytes("sku,title\nA1,Caf\xe9\n".encode("latin-1"))
    job = start_job("import_data", {"kind": "products", "path": str(path)})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "line 2" in job.error
    assert job.chunks.count() == 0 and Product.objects.count() == 0
