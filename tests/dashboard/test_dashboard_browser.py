"""The dashboard in a real browser (Playwright driving Debian's chromium) on a seeded demo shop: it loads with
its charts and no CSP violation or script error. With SAVE_SCREENSHOTS=1 it writes docs/dashboard.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from catalog.models import Review, ReviewInsight
from customers import profiles
from customers.segments import rebuild_segments
from demo.seed import SeedOptions, seed_shop
from jobs.models import Job, JobStatus
from tests.browser import BROWSER_MARKS, launched_browser, sign_in, watched_tab
from tests.campaigns.builders import experiment_under_way
from tests.vectors import fake_embed

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
pytestmark = BROWSER_MARKS


@pytest.fixture
def browser_page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    with launched_browser(monkeypatch) as browser:
        yield watched_tab(browser)


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
    sign_in(tab, live_server, admin)
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
