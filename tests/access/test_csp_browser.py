"""The Content-Security-Policy in a real browser (Playwright driving Debian's chromium): the admin home, a
running campaign's page and its results charts (inline SVG), a product's insight page, Swagger UI and the
assistant's demo page load with no CSP violation reported and no script error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.browser import BROWSER_MARKS, launched_browser, sign_in, watched_tab
from tests.campaigns.builders import experiment_under_way
from tests.catalog.builders import product, product_insight

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser_page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    with launched_browser(monkeypatch) as browser:
        yield watched_tab(browser)


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
