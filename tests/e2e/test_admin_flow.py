"""The manager's whole path through the admin in a real browser (Playwright driving Debian's chromium, on
pytest-django's live server): log in, import customers and watch the import's job, open a product's insight
page, create a campaign, generate its copy, approve it, test-send it to themself, send it after a confirmation
that names the number of recipients, open the results, erase a customer. Each step leaves a
screenshot under $E2E_ARTIFACTS (default var/e2e-screenshots), so a failed run shows where it stopped.

Generation is the one fake, as in tests/campaigns/test_generation.py: a local server speaking the OpenAI chat
API answers each part's prompt with fixed copy; the embedding model that scores relevance is the real one
(hence `slow`). Without a broker, jobs run eagerly when their request commits, so each page the browser lands
on already shows the job's outcome; the test still reloads the job page until it says so."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse

from campaigns.models import Assignment, Campaign, Message, Variant
from campaigns.roles import CAMPAIGN_MANAGER
from customers.models import Customer
from inference import registry
from jobs.models import Job, JobStatus
from tests.browser import BROWSER_MARKS, launched_browser, sync_api, watched_tab
from tests.campaigns.builders import UNSUBSCRIBE_LINE
from tests.campaigns.test_generation import GOOD, part_of
from tests.catalog.builders import product, product_insight
from tests.inference.http_server import send_json, serving

pytestmark = BROWSER_MARKS
TIMEOUT_MS = 30_000
PASSWORD = "pw-for-tests"
CUSTOMERS_CSV = (
    "external_id,email,name,marketing_consent\n"
    "e2e-1,ada@example.com,Ada Lovelace,true\n"
    "e2e-2,alan@example.com,Alan Turing,true\n"
    "e2e-3,grace@example.com,Grace Hopper,true\n"
    "e2e-4,nobody@example.com,No Consent,false\n"
)


def artifacts_dir() -> Path:
    """Where the screenshots go: $E2E_ARTIFACTS, else var/e2e-screenshots of the project."""
    folder = Path(os.environ.get("E2E_ARTIFACTS") or Path(django_settings.BASE_DIR) / "var" / "e2e-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Shots:
    """Numbered full-page screenshots, one per step: 01-login.png, 02-import-job.png, ..."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page, self.folder, self.n = page, folder, 0
        for old in folder.glob("[0-9][0-9]-*.png"):
            old.unlink()

    def __call__(self, step: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


class CopyServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint: `n` choices of the fixed copy for the part a prompt asks for."""

    def do_POST(self) -> None:  # the stdlib names it
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = GOOD[part_of(body["messages"][1]["content"])]
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                    "logprobs": {"content": [{"token": "x", "logprob": -0.4 - 0.1 * i}]}}
                   for i in range(int(body.get("n", 1)))]
        send_json(self, {"choices": choices})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def generation(settings: Any) -> Iterator[str]:
    with serving(CopyServer) as url:
        settings.GENERATION_BASE_URL, settings.GENERATION_MODEL_NAME = url, "e2e-copy-model"
        settings.GENERATION_CANDIDATES = 2
        registry.clear()
        yield url
        registry.clear()


@pytest.fixture
def manager_user() -> User:
    user = User.objects.create_user("e2e-manager", "manager@shop.example", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=CAMPAIGN_MANAGER))
    return user


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with launched_browser(monkeypatch) as browser:
        tab, problems = watched_tab(browser, timeout_ms=TIMEOUT_MS)
        yield tab
    assert not problems, f"policy violations or JavaScript errors on the page: {problems}"


def wait_for_job(page: Any, job: Job, seconds: float = 20.0) -> Job:
    """Reload the job's admin page until the job is finished (the page shows no live progress)."""
    end = time.monotonic() + seconds
    while True:
        job.refresh_from_db()
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED) or time.monotonic() > end:
            page.reload()
            return job
        time.sleep(0.3)


def test_a_manager_imports_generates_approves_sends_and_reads_the_results(
    page: Any, live_server: Any, manager_user: User, generation: str, tmp_path: Path, settings: Any
) -> None:
    expect = sync_api.expect
    settings.MEDIA_ROOT = tmp_path / "media"  # the upload and its errors file stay out of var/
    shot = Shots(page, artifacts_dir())
    started = time.monotonic()
    shoe = product(sku="TR-X", title="Trail Runner X", category="Shoes > Trail", brand="Stride",
                   price=Decimal("89.99"))
    product_insight(
        shoe, review_count=4, rating_average=4.5, rating_distribution={"5": 3, "4": 1},
        sentiment_distribution={"positive": 4},
        praised_aspects=[{"aspect": "grip", "key": "grip", "count": 3, "mentions": 3, "positive_share": 1.0,
                          "negative_share": 0.0, "quotes": [{"text": "Grips on wet rock.", "review_id": 1}]}],
    )

    # 1. Log in through the admin's own form.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(manager_user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(manager_user.username)
    shot("logged-in")

    # 2. Import customers from a file and watch the import's job.
    upload = tmp_path / "customers.csv"
    upload.write_text(CUSTOMERS_CSV, encoding="utf-8")
    page.goto(f"{live_server.url}{reverse('admin:ingest_import_add')}")
    page.get_by_label("Kind").select_option("customers")
    page.locator("input[type=file][name=file]").set_input_files(str(upload))
    shot("import-form")
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Importing customers.csv")
    job = wait_for_job(page, Job.objects.get(kind="import_data"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    expect(page.locator("div.form-row.field-status")).to_contain_text(re.compile("succeeded", re.I))
    shot("import-job")
    assert set(Customer.objects.values_list("external_id", flat=True)) >= {"e2e-1", "e2e-2", "e2e-3", "e2e-4"}

    # 3. The product's insight page.
    page.goto(f"{live_server.url}{reverse('admin:catalog_product_insight', args=[shoe.pk])}")
    expect(page.locator("#content")).to_contain_text("Trail Runner X")
    expect(page.locator("#content")).to_contain_text("grip")
    shot("product-insight")

    # 4. Create a campaign about the product.
    page.goto(f"{live_server.url}{reverse('admin:campaigns_campaign_add')}")
    page.locator("#id_name").fill("E2E trail grip")
    page.locator("#id_goal").select_option("conversion")
    page.locator("#id_channel").select_option("email")
    page.locator("#id_brief").fill("Show trail runners the grip of our trail shoe.")
    page.locator("#id_required_text").fill(UNSUBSCRIBE_LINE)
    page.locator("#id_landing_url").fill("https://shop.example/trail")
    page.locator("#id_variants_per_group").fill("2")
    page.locator(".field-products .select2-selection").click()  # the admin's autocomplete widget
    page.locator(".select2-search__field").last.fill("Trail")
    page.locator(".select2-results__option", has_text="Trail Runner X").click()
    shot("campaign-form")
    page.locator("input[name=_continue]").click()
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    campaign = Campaign.objects.get(name="E2E trail grip")
    assert campaign.status == Campaign.Status.DRAFT and list(campaign.products.all()) == [shoe]
    shot("campaign-created")

    # 5. Generate the copy (the job runs when the request commits).
    page.get_by_role("button", name="Generate copy").click()
    generate = Job.objects.get(kind="generate_campaign")
    wait_for_job(page, generate)
    assert generate.status == JobStatus.SUCCEEDED, generate.error
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.IN_REVIEW
    page.goto(f"{live_server.url}{reverse('admin:campaigns_campaign_review', args=[campaign.pk])}")
    expect(page.locator(".cmp-card")).to_have_count(2)
    expect(page.locator(".cmp-card").first).to_contain_text("Trail Runner X")
    shot("generated-variants")

    # 6. Approve both variants, then the campaign.
    for _ in range(2):
        page.locator(".cmp-card button[value=approve]").first.click()
        expect(page.locator("ul.messagelist")).to_be_visible()
    assert set(campaign.variants.values_list("status", flat=True)) == {Variant.Status.APPROVED}
    page.get_by_role("button", name="Approve", exact=True).click()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED
    shot("campaign-approved")

    # 7. A test send to the manager's own address first (the send waits for it, saying why): it counts nowhere.
    expect(page.locator(".cmp-workflow")).to_contain_text("send a test first: no test was sent yet")
    page.get_by_role("button", name="Send a test", exact=True).click()
    expect(page.locator("ul.messagelist")).to_contain_text(f"test sent to {manager_user.email}")
    assert len(mail.outbox) == 2  # one mail per variant
    assert all(m.to == [manager_user.email] and m.subject.startswith("[TEST]") for m in mail.outbox)
    assert not Message.objects.filter(campaign=campaign).exists()
    shot("test-send")
    mail.outbox.clear()

    # 8. Send, after a confirmation that names the number of recipients (e2e-4 gave no consent).
    page.get_by_role("button", name="Start (send)").click()
    expect(page.locator("#content")).to_contain_text("Send to 3 customers?")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED  # nothing sent before the confirmation
    shot("send-confirmation")
    page.get_by_role("button", name=re.compile("Send now")).click()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    send = Job.objects.filter(kind="send_campaign").order_by("-pk").first()
    assert send is not None
    page.goto(f"{live_server.url}{reverse('admin:jobs_job_change', args=[send.pk])}")
    send = wait_for_job(page, send)
    assert send.status == JobStatus.SUCCEEDED, send.error
    shot("send-job")
    sent = Message.objects.filter(campaign=campaign, status=Message.Status.SENT)
    assert sent.count() == len(mail.outbox) and {m.to[0] for m in mail.outbox} <= {
        "ada@example.com", "alan@example.com", "grace@example.com"}

    # 9. The results page.
    page.goto(f"{live_server.url}{reverse('admin:campaigns_campaign_results', args=[campaign.pk])}")
    table = page.locator("table.cmp-table").first
    expect(table.locator("tbody tr")).to_have_count(3)  # arms A, B and the holdout
    expect(table).to_contain_text("(no message)")
    expect(page.locator(".cmp-verdict")).to_be_visible()
    shot("results")

    # 10. Erase a customer who took part: the job's report says what went, the experiment's counts stay.
    ada = Customer.objects.get(external_id="e2e-1")
    assignments = Assignment.objects.count()
    page.goto(f"{live_server.url}{reverse('admin:customers_customer_change', args=[ada.pk])}")
    page.get_by_role("link", name="Erase…").click()
    expect(page.locator("#content")).to_contain_text("cannot be undone")
    shot("erase-confirmation")
    page.get_by_role("button", name="Yes, erase this customer").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Erasure started")
    erasure = Job.objects.get(kind="erase_customer")
    page.goto(f"{live_server.url}{reverse('admin:jobs_job_change', args=[erasure.pk])}")
    erasure = wait_for_job(page, erasure)
    assert erasure.status == JobStatus.SUCCEEDED, erasure.error
    assert erasure.result["anonymised"].get("customers.customer") == 1, erasure.result
    ada.refresh_from_db()
    assert ada.erased_at is not None and ada.email == "" and ada.name == ""
    assert Assignment.objects.count() == assignments  # the experiment's results keep their rows
    shot("erasure-job")

    assert time.monotonic() - started < 60, "the admin flow should take well under a minute"
