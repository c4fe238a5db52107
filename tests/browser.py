"""What every browser test shares: Debian's chromium driven by Playwright, the marks that skip without it, a
launched browser, a tab that records Content-Security-Policy violations and script errors, and signing in.

Importing this module skips the importing test module when Playwright is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in this environment")

# the live server reads what the test wrote; a browser run is slow; no chromium, no run (and why)
BROWSER_MARKS = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]
TIMEOUT_MS = 15_000


@contextmanager
def launched_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless chromium for the test. Playwright's sync API runs an event loop in this thread while the
    test's ORM calls stay synchronous (hence DJANGO_ALLOW_ASYNC_UNSAFE); those calls open a connection in
    Playwright's context, closed afterwards or the test database cannot be dropped at the session's end."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield browser
        finally:
            browser.close()
            connection.close()


def watched_tab(
    browser: Any, *, width: int = 1280, height: int = 900, timeout_ms: int = TIMEOUT_MS
) -> tuple[Any, list[str]]:
    """A new tab and the list its policy violations and script errors are appended to, as they happen."""
    tab = browser.new_page(viewport={"width": width, "height": height})
    tab.set_default_timeout(timeout_ms)
    problems: list[str] = []
    tab.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return tab, problems


def sign_in(tab: Any, live_server: Any, user: User) -> None:
    """Put `user`'s session cookie in the tab (the login form is the e2e test's business, not every test's)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    tab.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
