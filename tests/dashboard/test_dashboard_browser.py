"""The dashboard in a real browser (Playwright driving Debian's chromium) on a seeded demo shop: it loads with
its charts and no CSP violation or script error. With SAVE_SCREENSHOTS=1 it writes docs/dashboard.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.models import Review, ReviewInsight
from customers import profiles
from customers.segments import rebuild_segments
from demo.seed import SeedOptions, seed_shop
from jobs.models import Job, JobStatus
from tests.campaigns.builders import experiment_under_way
from tests.vectors import fake_embed

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in this environment")

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the live server reads what the test wrote
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]


@pytest.fixture
def browser_page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(15_000)
        problems: list[str] = []
        tab.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
        tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        yield tab, problems
        browser.close()
        connection.close()


STAND_IN = {4: ("positive", 0.8), 3: ("neutral", 0.0), 2: ("negative", -0.7)}  # stars (clipped 2-4) -> sentiment


def demo_like_shop() -> None:
    """The demo's seed (small), profiles rebuilt (a fake embedder for search queries), a running A/B test and
    jobs. The seed's reviews get a sentiment from their stars, standing in for the sentiment model."""
    seed_shop(SeedOptions(seed=42, products=60, customers=300, events=6000, reviews=400))
    profiles.rebuild_profiles(embed_texts=fake_embed)
    rebuild_segments()
    ReviewInsight.objects.bulk_create([
        ReviewInsight(review_id=pk, text_hash="stand-in", sentiment=s, polarity=p)
        for pk, rating in Review.objects.values_list("pk", "rating")
        for s, p in [STAND_IN[min(max(rating or 3, 2), 4)]]
    ])
    experiment_under_way("Spring mugs")
    Job.objects.create(kind="analyse_reviews", status=JobStatus.RUNNING, progress_done=120, progress_total=400)
    Job.objects.create(kind="import_data", status=JobStatus.FAILED, error="Row 3, column price: not a number.",
                       finished_at=timezone.now())


def test_the_dashboard_loads_under_the_policy(browser_page: tuple[Any, list[str]], live_server: Any) -> None:
    tab, problems = browser_page
    demo_like_shop()
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    tab.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    response = tab.goto(f"{live_server.url}/admin/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    tab.wait_for_selector("#dashboard-sales svg")
    tab.wait_for_load_state("networkidle")
    assert tab.locator("#dashboard-sentiment svg").count() == 1
    assert "Spring mugs" in tab.inner_text("#dashboard-campaigns")
    assert not problems, problems
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        tab.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
