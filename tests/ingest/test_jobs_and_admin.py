"""Imports as jobs (`start_job("import_data")`) and the admin's upload page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from campaigns.roles import ANALYST
from catalog.models import Product
from customers.models import Event
from ingest.models import Import
from jobs.models import Job, JobStatus
from jobs.runner import JobParamsError, start_job

from .conftest import ONLINE_RETAIL

pytestmark = pytest.mark.django_db

PRODUCTS = "sku,title,price\nA1,Mug,9.5\nB2,Teapot,-1\nC3,Cup,2\n"


# --- the job ------------------------------------------------------------------------------------------------

def test_import_job_succeeds_with_counts_progress_and_errors(media: Path, run_on_commit: Any, manager: User) -> None:
    path = media / "products.csv"
    path.write_text(PRODUCTS)
    errors_path = media / "products.csv.errors.csv"
    params = {"kind": "products", "path": str(path), "errors_path": str(errors_path)}
    job = start_job("import_data", params, user=manager)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.counts == {"created": 2, "updated": 0, "rejected": 1}
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result["errors"] == [{"line": 3, "field": "price", "message": "must not be negative"}]
    assert job.result["reasons"] == [{"field": "price", "reason": "must not be negative", "count": 1, "first_line": 3}]
    assert errors_path.read_text().splitlines()[1] == "3,price,must not be negative"
    assert Product.objects.count() == 2
    assert Import.objects.get() == job  # the proxy sees import jobs


def test_import_job_with_preset_and_options(media: Path, run_on_commit: Any) -> None:
    path = media / "retail.csv"
    path.write_text(ONLINE_RETAIL)
    for kind in ("products", "events"):
        job = start_job("import_data", {"kind": kind, "path": str(path), "preset": "online-retail"})
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.counts == {"created": 10, "updated": 0, "rejected": 4}
    assert Event.objects.count() == 10


def test_import_job_fails_with_the_reason_when_the_file_is_missing(media: Path, run_on_commit: Any) -> None:
    job = start_job("import_data", {"kind": "products", "path": str(media / "gone.csv")})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "ImportFileError: cannot open" in job.error and "gone.csv: no such file" in job.error


def test_import_job_fails_on_bad_options_before_writing(media: Path, run_on_commit: Any) -> None:
    path = media / "p.csv"
    path.write_text(PRODUCTS)
    job = start_job("import_data", {"kind": "products", "path": str(path), "mapping": {"title": "Name"}})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "missing column Name" in job.error
    with pytest.raises(JobParamsError, match="maping: unknown parameter"):  # misspelt: never ignored, refused at once
        start_job("import_data", {"kind": "products", "path": str(path), "maping": {"title": "Name"}})
    assert Product.objects.count() == 0


def test_import_job_reads_and_writes_only_inside_the_uploads_folder(
    media: Path, tmp_path: Path, run_on_commit: Any
) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(PRODUCTS)
    with pytest.raises(JobParamsError, match="an import job reads files only under"):  # refused when created
        start_job("import_data", {"kind": "products", "path": str(outside)})

    inside = media / "p.csv"
    inside.write_text(PRODUCTS)
    with pytest.raises(JobParamsError, match="writes its errors file only under"):
        start_job("import_data", {"kind": "products", "path": str(inside), "errors_path": str(tmp_path / "x.csv")})
    assert Product.objects.count() == 0


def test_import_job_may_read_from_configured_folders(
    settings: Any, media: Path, tmp_path: Path, run_on_commit: Any
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "p.csv").write_text(PRODUCTS)
    settings.IMPORT_DIRS = [str(drop)]
    job = start_job("import_data", {"kind": "products", "path": str(drop / "p.csv")})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


# --- the admin ----------------------------------------------------------------------------------------------

def _upload(name: str, content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_admin_upload_runs_the_import_as_a_job(admin_client: Client, media: Path, run_on_commit: Any) -> None:
    page = admin_client.get(reverse("admin:ingest_import_add"))
    assert page.status_code == 200
    assert b"Import a file" in page.content and b"online-retail" in page.content

    response = admin_client.post(
        reverse("admin:ingest_import_add"),
        {"kind": "products", "file": _upload("catalog.csv", PRODUCTS), "encoding": "utf-8"},
        follow=True,
    )
    job = Job.objects.get()
    assert response.redirect_chain[0][0] == reverse("admin:jobs_job_change", args=[job.pk])
    assert response.status_code == 200
    assert b"Importing catalog.csv into products as job #" in response.content
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.params["file_name"] == "catalog.csv"
    assert Path(job.params["path"]).parent == media
    assert job.counts == {"created": 2, "updated": 0, "rejected": 1}
    assert Product.objects.count() == 2

    listing = admin_client.get(reverse("admin:ingest_import_changelist"))
    assert listing.status_code == 200 and b"catalog.csv" in listing.content

    report = admin_client.get(reverse("admin:ingest_import_change", args=[job.pk]))
    assert report.status_code == 200
    assert b"must not be negative" in report.content
    assert b"Download every rejection" in report.content

    download = admin_client.get(reverse("admin:ingest_import_errors", args=[job.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode().splitlines() == [  # type: ignore[attr-defined]
        "line,field,message",
        "3,price,must not be negative",
    ]


def test_admin_upload_with_preset_mapping_and_constants(admin_client: Client, media: Path, run_on_commit: Any) -> None:
    response = admin_client.post(
        reverse("admin:ingest_import_add"),
        {
            "kind": "products",
            "file": _upload("retail.csv", ONLINE_RETAIL),
            "preset": "online-retail",
            "constants": "brand=Acme\r\ncurrency=EUR",
            "encoding": "utf-8",
        },
    )
    assert response.status_code == 302
    assert Product.objects.count() == 10
    assert set(Product.objects.values_list("brand", "currency").distinct()) == {("Acme", "EUR")}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("title=Name", b"missing column Name"),  # the file has no such column
        ("prise=Cost", b"unknown field &#x27;prise&#x27; for products"),  # the import has no such field
    ],
)
def test_admin_upload_refuses_a_bad_mapping_and_keeps_nothing(
    admin_client: Client, media: Path, run_on_commit: Any, mapping: str, message: bytes
) -> None:
    response = admin_client.post(
        reverse("admin:ingest_import_add"),
        {"kind": "products", "file": _upload("p.csv", PRODUCTS), "mapping": mapping, "encoding": "utf-8"},
    )
    assert response.status_code == 200
    assert message in response.content
    assert not Job.objects.exists()
    assert list(media.iterdir()) == []  # the refused upload is not kept


def test_analysts_see_imports_but_cannot_upload(client: Client, media: Path, run_on_commit: Any) -> None:
    analyst = User.objects.create_user("ann", "ann@example.com", "pw", is_staff=True)
    analyst.groups.add(Group.objects.get(name=ANALYST))
    client.force_login(analyst)
    assert client.get(reverse("admin:ingest_import_changelist")).status_code == 200
    assert client.get(reverse("admin:ingest_import_add")).status_code == 403


def test_deleting_an_import_removes_its_files(admin_client: Client, media: Path, run_on_commit: Any) -> None:
    admin_client.post(
        reverse("admin:ingest_import_add"),
        {"kind": "products", "file": _upload("p.csv", PRODUCTS), "encoding": "utf-8"},
    )
    job = Import.objects.get()
    assert len(list(media.iterdir())) == 2  # the upload and its errors file
    response = admin_client.post(reverse("admin:ingest_import_delete", args=[job.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert list(media.iterdir()) == []


def test_admin_jsonl_upload_and_a_failed_import_page(admin_client: Client, media: Path, run_on_commit: Any) -> None:
    jsonl = '{"sku": "A1", "title": "Mug"}\n{"sku": "B2"\n'
    response = admin_client.post(
        reverse("admin:ingest_import_add"),
        {"kind": "products", "file": _upload("p.jsonl", jsonl), "encoding": "utf-8"},
    )
    assert response.status_code == 302
    job = Import.objects.get()
    assert job.counts == {"created": 1, "updated": 0, "rejected": 1}
    assert job.result["errors"][0]["line"] == 2

    failed = start_job("import_data", {"kind": "products", "path": str(media / "gone.csv")})
    page = admin_client.get(reverse("admin:ingest_import_change", args=[failed.pk]))
    assert page.status_code == 200
    assert b"Failure" in page.content and b"no such file" in page.content

    listing = admin_client.get(reverse("admin:ingest_import_changelist") + "?import_kind=products&status=failed")
    assert listing.status_code == 200
    assert b"Import a file" in listing.content
    assert b"gone.csv" in listing.content and b"p.jsonl" not in listing.content
