"""The campaign preview in a real browser (Playwright driving Debian's chromium): at a desktop and a phone
width the page never scrolls sideways, however long the tracked links, and the email's product link is a button;
the preview's phone width shows the email's narrow layout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from campaigns.models import Campaign, Variant
from tests.browser import BROWSER_MARKS, launched_browser, sign_in, watched_tab
from tests.catalog.builders import product

from .admin_pages import page
from .builders import campaign, subscriber, variant

pytestmark = BROWSER_MARKS


# the elements sticking out past the window's right edge, to say what overflows when the test fails
OVERFLOWING = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8)
  .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with launched_browser(monkeypatch) as chromium:
        yield chromium


@pytest.mark.parametrize("width", [1280, 390])
def test_preview_fits_the_window_and_shows_a_button(browser: Any, live_server: Any, width: int) -> None:
    long_path = "/".join(["trail-running-shoes-with-a-very-long-landing-page-path"] * 3)
    camp = campaign(status=Campaign.Status.IN_REVIEW, landing_url=f"https://shop.example.com/{long_path}")
    camp.products.add(product(title="Trail shoe"))
    variant(camp, status=Variant.Status.APPROVED, body="Your trails miss you. " * 12)
    subscriber(name="Ada Lovelace", email="ada.lovelace.with.a.long.address@runners-club.example.com")
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    tab, problems = watched_tab(browser, width=width)
    sign_in(tab, live_server, admin)
    response = tab.goto(f"{live_server.url}{page('preview', camp)}")
    assert response is not None and response.status == 200
    tab.wait_for_selector(".cmp-preview iframe")
    tab.wait_for_load_state("networkidle")
    scroll_width, inner_width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = tab.evaluate(OVERFLOWING)  # named in the failure message
    assert scroll_width <= inner_width, (width, scroll_width, inner_width, wide)
    email = tab.frame_locator(".cmp-preview iframe")
    cta = email.locator("a", has_text="View product")
    assert cta.count() == 1 and "product=" in (cta.get_attribute("href") or "")
    frame_scroll, frame_width = email.locator("body").evaluate(
        "b => [b.ownerDocument.documentElement.scrollWidth, b.ownerDocument.defaultView.innerWidth]"
    )
    # the desktop preview is a 640px frame (scrolled inside its box on a narrow screen): the email's desktop
    # layout, its buttons inline
    assert frame_width == 640 and cta.evaluate("a => getComputedStyle(a).display") == "inline-block"
    assert frame_scroll <= frame_width, (width, frame_scroll, frame_width)
    assert not problems, problems
    if width > 767:  # the phone-width preview: a 375px frame, where the email's media query applies
        if os.environ.get("SAVE_SCREENSHOTS") == "1":
            tab.screenshot(path="/tmp/preview-desktop.png", full_page=True)
        tab.get_by_role("link", name="phone (375px)").click()
        tab.wait_for_selector(".cmp-preview iframe.cmp-narrow")
        frame = tab.frame_locator(".cmp-preview iframe.cmp-narrow")
        assert frame.locator("body").evaluate("b => b.ownerDocument.defaultView.innerWidth") == 375
        assert frame.locator("a", has_text="View product").evaluate("a => getComputedStyle(a).display") == "block"
        if os.environ.get("SAVE_SCREENSHOTS") == "1":
            tab.screenshot(path="/tmp/preview-phone.png", full_page=True)
