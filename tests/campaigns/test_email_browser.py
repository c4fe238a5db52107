"""The branded email in a real browser (Playwright driving Debian's chromium), at a desktop and a phone width:
the brand's colours are applied, the logo (served by this server) loads with its alt text, the product blocks
show image, title, price and a button, the unsubscribe link is signed, nothing scrolls sideways and the phone
width stacks the product blocks (the media query). With SAVE_SCREENSHOTS=1 it writes docs/email.png."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from campaigns.brand import current_brand
from campaigns.models import Brand
from campaigns.personalisation import render
from customers.unsubscribe import read_token
from tests.browser import BROWSER_MARKS, launched_browser
from tests.catalog.builders import product

from .builders import campaign, subscriber, variant

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
IMAGES = "https://images.stride.example/"  # product pictures: answered by the test (no network at run time)
pytestmark = BROWSER_MARKS  # the live server reads the brand the test wrote
BODY = (
    "Hi {first_name},\n\nYour trails miss you. The Trail Runner X grips wet rock and drains fast, and the merino "
    "socks keep blisters away on long runs.\n\n15% off with code AUTUMN15.\n\nTake a look: "
    "https://shop.stride.example/autumn\n\nSee you on the trails,\nThe Stride team"
)


def picture(size: tuple[int, int], background: str, text: str = "", fill: str = "#ffffff") -> bytes:
    image = Image.new("RGBA" if background == "transparent" else "RGB", size,
                      (0, 0, 0, 0) if background == "transparent" else background)
    draw = ImageDraw.Draw(image)
    if text:  # a logo: the name in white letters
        draw.text((8, 8), text, fill=fill, font_size=30)
    else:  # a shoe-ish shape on its colour
        w, h = size
        draw.rounded_rectangle((w * 0.12, h * 0.45, w * 0.88, h * 0.72), radius=h // 8, fill="#f4f1ea")
        draw.rectangle((w * 0.12, h * 0.68, w * 0.88, h * 0.76), fill="#2b2b2b")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with launched_browser(monkeypatch) as chromium:
        yield chromium


def branded_email() -> tuple[str, int, Brand]:
    brand = current_brand()
    brand.name, brand.primary_colour, brand.accent_colour = "Stride Running", "#0b4f6c", "#a3301c"
    brand.logo = SimpleUploadedFile("stride.png", picture((180, 48), "transparent", "STRIDE"))
    brand.address = "Stride Running Ltd · 12 Harbour Road · Bristol BS1 4RN"
    brand.full_clean()
    brand.save()
    camp = campaign(landing_url="https://shop.stride.example/autumn",
                    sign_off="See you on the trails,\nThe Stride team")
    camp.products.set([
        product(title="Trail Runner X", price=Decimal("129.00"), currency="USD",
                attributes={"image_url": f"{IMAGES}trail-runner-x.png"}),
        product(title="Merino running socks", price=Decimal("18.00"), currency="USD",
                attributes={"image_url": f"{IMAGES}merino-socks.png"}),
    ])
    ada = subscriber(name="Ada Lovelace")
    message = render(variant(camp, subject="Your trails miss you, Ada", body=BODY), ada, message_id=1)
    return message.html, ada.pk, brand


@pytest.mark.parametrize("width", [800, 390])
def test_the_email_in_a_browser(browser: Any, live_server: Any, settings: Any, tmp_path: Path, width: int) -> None:
    settings.MEDIA_ROOT, settings.PUBLIC_BASE_URL = tmp_path, live_server.url
    html, customer_id, brand = branded_email()
    tab = browser.new_page(viewport={"width": width, "height": 900})
    tab.set_default_timeout(15_000)
    colours = {"trail-runner-x.png": "#c4572e", "merino-socks.png": "#5b7f4a"}
    tab.route(f"{IMAGES}**", lambda route: route.fulfill(
        body=picture((272, 200), colours[route.request.url.rsplit("/", 1)[1]]), content_type="image/png"))
    tab.set_content(html)
    tab.wait_for_load_state("networkidle")
    # the logo came from this server, with the brand's name as its alt text, on the primary colour
    logo = tab.locator("img").first
    assert logo.get_attribute("alt") == "Stride Running" and logo.evaluate("i => i.naturalWidth") == 180
    assert logo.get_attribute("src").startswith(f"{live_server.url}/brand/logo/")
    header = logo.evaluate("i => getComputedStyle(i.closest('td')).backgroundColor")
    assert header == rgb(brand.primary_colour)
    # product blocks: image, title, price in the accent colour, a button in the primary colour
    blocks = tab.locator("table.ecm-product")
    assert blocks.count() == 2
    assert blocks.locator(".ecm-product-title").all_inner_texts() == ["Trail Runner X", "Merino running socks"]
    prices = blocks.locator(".ecm-price")
    assert prices.all_inner_texts() == ["$129.00", "$18.00"]
    assert prices.first.evaluate("p => getComputedStyle(p).color") == rgb(brand.accent_colour)
    buttons = blocks.locator("a[data-button]")
    assert buttons.all_inner_texts() == ["View product", "View product"]
    assert {b.evaluate("a => getComputedStyle(a).backgroundColor") for b in buttons.all()} == {
        rgb(brand.primary_colour)}
    assert all(i.evaluate("i => i.complete && i.naturalWidth > 0") for i in blocks.locator("img").all())
    # the signed unsubscribe link
    unsubscribe = tab.locator("a.ecm-unsubscribe").get_attribute("href")
    assert read_token(unsubscribe.rstrip("/").rsplit("/", 1)[1]).customer_id == customer_id
    # nothing scrolls sideways; on a phone the picture sits above the title (the media query stacks them)
    scroll, inner = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, (width, scroll, inner)
    image_box = blocks.first.locator("img").bounding_box()
    title_box = blocks.first.locator(".ecm-product-title").bounding_box()
    assert image_box is not None and title_box is not None
    stacked = title_box["y"] >= image_box["y"] + image_box["height"]
    assert stacked == (width < 620), (width, image_box, title_box)
    if width == 800 and os.environ.get("SAVE_SCREENSHOTS") == "1":
        tab.screenshot(path=str(DOCS / "email.png"), full_page=True)
