"""The storefront widget in a real browser (Playwright driving Debian's chromium) on the demo page served by
the live server: ask, see the answer stream in with its sources, rate it, ask for a person, see the hand-off
notice and then the shop's reply arrive by polling. Answers come from `scripted_ask` (builders_api.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assistant import answering
from assistant.models import Article, Author, Conversation, ConversationMessage, ConversationStatus, PublishableKey
from assistant.views import DEMO_KEY_NAME
from inference import registry
from tests.browser import BROWSER_MARKS, launched_browser, sync_api, watched_tab
from tests.catalog.builders import product

from .builders_api import key, scripted_answering

pytestmark = BROWSER_MARKS
__all__ = ["scripted_answering"]  # a fixture, used by name
TIMEOUT_MS = 15_000


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    settings.DEBUG = True  # the demo page is for DEBUG (or staff)
    with launched_browser(monkeypatch) as browser:
        tab, problems = watched_tab(browser, timeout_ms=TIMEOUT_MS)
        yield tab
    assert not problems, f"policy violations or JavaScript errors on the page: {problems}"


def wait_for(check: Any, what: str, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_widget_answers_with_citations_and_hands_off(
    page: Any, live_server: Any, scripted_answering: list[dict[str, Any]]
) -> None:
    expect = sync_api.expect
    product(sku="KETTLE-1", title="Demo kettle")
    page.goto(f"{live_server.url}/assistant/demo/")
    expect(page.get_by_role("heading", name="Demo kettle")).to_be_visible()

    launcher = page.get_by_role("button", name="Ask a question")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    question = page.get_by_label("Your question")
    expect(question).to_be_focused()
    question.fill("Can I return it if it does not fit?")
    question.press("Enter")

    answer = page.locator(".msg.assistant").first
    expect(answer).to_contain_text("You can return any item within 30 days of delivery.")
    sources = answer.locator(".sources li")
    expect(sources).to_have_count(1)
    expect(sources.first).to_contain_text("Returns")
    expect(sources.first.locator("blockquote")).to_contain_text("within 30 days of delivery for a full refund")
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
    assert scripted_answering[0]["product"].sku == "KETTLE-1"  # the page's data-product

    answer.get_by_role("button", name="Not helpful").click()
    expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    reply = ConversationMessage.objects.get(author=Author.ASSISTANT)
    wait_for(lambda: ConversationMessage.objects.get(pk=reply.pk).feedback == "not_helpful", "the feedback")

    question.fill("Can I talk to a person please?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".handoff")).to_contain_text("A person from the shop will answer you here")
    conversation = reply.conversation
    conversation.refresh_from_db()
    assert (conversation.status, conversation.origin) == (ConversationStatus.HANDED_OFF, live_server.url)
    assert conversation.key == PublishableKey.objects.get(name=DEMO_KEY_NAME)

    ConversationMessage.objects.create(conversation=conversation, author=Author.STAFF, text="Hi, Sam here: it fits.")
    staff = page.locator(".msg.staff")
    expect(staff).to_contain_text("Sam here", timeout=20_000)  # the widget polls every 5 s
    expect(staff).to_contain_text("From the shop")

    page.reload()  # the conversation survives a page change in the same visit (sessionStorage)
    page.get_by_role("button", name="Ask a question").click()
    expect(page.locator(".msg.shopper")).to_have_count(2)
    expect(page.locator(".msg.staff")).to_have_count(1)
    page.get_by_label("Your question").press("Escape")  # closes, and focus goes back to the launcher
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Ask a question")).to_be_focused()


def test_widget_says_so_when_the_site_is_rate_limited(
    page: Any, live_server: Any, scripted_answering: list[dict[str, Any]]
) -> None:
    expect = sync_api.expect
    page.goto(f"{live_server.url}/assistant/demo/")  # no product: articles only
    PublishableKey.objects.filter(name=DEMO_KEY_NAME).update(rate_per_minute=1)
    page.get_by_role("button", name="Ask a question").click()
    question = page.get_by_label("Your question")
    question.fill("Can I return it?")
    question.press("Enter")  # the conversation is the one question this minute allows
    error = page.locator(".error")
    expect(error).to_contain_text("You are asking faster than the shop allows")
    expect(error).to_contain_text("seconds")
    assert scripted_answering == []


def test_widget_on_the_real_answering(page: Any, live_server: Any, settings: Any, tmp_path: Path) -> None:
    """The same path on the real `answering.ask` and a really indexed article (no generation model: the
    answer quotes its evidence, as it does whenever no model is prepared)."""
    indexing = pytest.importorskip("assistant.indexing", reason="needs the knowledge index (branch i12-index)")
    if getattr(answering, "STUB", False):
        pytest.skip("needs the real assistant.answering (branch i12-answering)")

    expect = sync_api.expect
    settings.GENERATION_BASE_URL, settings.GENERATION_MODEL = "", str(tmp_path)  # holds no model
    registry.clear()
    Article.objects.create(
        title="Returns and refunds", topic="returns", language="en", is_published=True,
        body="## Returns\n\nYou can return any unused item within 30 days of delivery for a full refund.\n\n"
             "## Refunds\n\nRefunds reach your card within 5 working days after we receive the item.\n",
    )
    indexing.index_knowledge()
    page.goto(f"{live_server.url}/assistant/demo/")
    page.get_by_role("button", name="Ask a question").click()
    question = page.get_by_label("Your question")
    question.fill("How many days do I have to return an item?")
    question.press("Enter")
    answer = page.locator(".msg.assistant").first
    expect(answer).to_contain_text("30 days", timeout=60_000)
    expect(answer.locator(".sources li").first).to_contain_text("Returns and refunds")
    question.fill("I want to talk to a person")
    question.press("Enter")
    expect(page.locator(".handoff")).to_be_visible()
    registry.clear()


@pytest.fixture
def shop_server() -> Iterator[Callable[[str], str]]:
    """A storefront of its own: a second HTTP server on 127.0.0.1 serving one page; `serve(html)` -> its URL.
    (Both servers are on loopback: Chromium refuses a public page's requests to a loopback server.)"""
    pages: dict[str, bytes] = {}

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the stdlib names it
            body = pages.get("page", b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        pages["page"] = html.encode()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    server.shutdown()
    server.server_close()


def test_widget_on_a_shop_of_another_origin(
    page: Any, live_server: Any, shop_server: Callable[[str], str], scripted_answering: list[dict[str, Any]]
) -> None:
    """A storefront on its own origin embeds the widget from the platform: real CORS preflights and the key's
    origin check; a SKU the catalog lacks does not stop it."""
    expect = sync_api.expect
    platform = live_server.url.replace("127.0.0.1", "localhost")  # another origin than the shop's
    site = key(site="127.0.0.1")
    shop = shop_server(
        "<!doctype html><html lang='en'><head><title>Shop</title></head><body><h1>A shop</h1>"
        f"<script src='{platform}/static/assistant/widget.js' data-key='{site.key}' "
        "data-product='NOT-IN-THE-CATALOG' async></script></body></html>"
    )
    site.allowed_origins = [shop]
    site.save()
    page.goto(f"{shop}/products/kettle")
    page.get_by_role("button", name="Ask a question").click()
    question = page.get_by_label("Your question")
    question.fill("Can I return it?")
    question.press("Enter")
    expect(page.locator(".msg.assistant").first.locator(".sources li")).to_contain_text("Returns")
    conversation = Conversation.objects.get()
    assert (conversation.key, conversation.origin, conversation.product) == (site, shop, None)

    site.allowed_origins = ["https://elsewhere.example.com"]  # the shop's origin taken off the key
    site.save()
    question.fill("And a refund?")
    question.press("Enter")
    expect(page.locator(".error")).to_contain_text("Could not reach the assistant")  # CORS hides the 403
