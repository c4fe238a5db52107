"""The Content-Security-Policy in a real browser (Playwright driving Debian's chromium): the admin home, a
running campaign's page and its results charts (inline SVG), a product's insight page, Swagger UI and the
assistant's demo page load with no CSP violation reported and no script error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from tests.campaigns.builders import experiment_under_way
from tests.catalog.builders import product, product_insight

CHROMIUM = Path("/usr/bin/chromium")
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
        tab = browser.new_page()
        tab.set_default_timeout(15_000)
        problems: list[str] = []
        tab.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
        tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        yield tab, problems
        browser.close()
        connection.close()


def sign_in(tab: Any, live_server: Any, user: User) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    tab.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])



def test_pages_pass_the_policy(browser_page: tuple[Any, list[str]], live_server: Any, settings: Any) -> None:
    tab, problems = browser_page
    settings.DEBUG = True  # the assistant's demo page is a development page
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    camp = experiment_under_way()
    item = product()
    product_insight(item)
    sign_in(tab, live_server, admin)
    pages = {
        "admin home": ("/admin/", "#content"),
        "campaign": (f"/admin/campaigns/campaign/{camp.pk}/change/", "#content"),
        "campaign results": (f"/admin/campaigns/campaign/{camp.pk}/results/", "svg"),
        "product insight": (f"/admin/catalog/product/{item.pk}/insight/", "#content"),
        "swagger": ("/api/docs/", ".swagger-ui .info"),
        "assistant demo": ("/assistant/demo/", "body"),
    }
    for name, (url, ready) in pages.items():
        response = tab.goto(f"{live_server.url}{url}")
        assert response is not None and response.status == 200, (name, response and response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"], name
        tab.wait_for_selector(ready)
        tab.wait_for_load_state("networkidle")
        assert not problems, f"{name}: {problems}"
