"""The branded email: brand settings refused with their reason, the HTML's structure (colours, logo alt,
product blocks with price and button, offer, signed unsubscribe link, media query, no script), the plain text
read from it holding every link, the logo served from this server, and the brand's admin page (one row,
audited changes)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from audit.models import AuditEntry
from campaigns.brand import LOGO_MAX_BYTES, contrast, current_brand, logo_address
from campaigns.email_template import PRODUCT_CTA_LABEL, format_price
from campaigns.models import Arm, Brand
from campaigns.personalisation import render
from campaigns.plain_text import html_to_text
from customers.unsubscribe import read_token
from tests.catalog.builders import product

from .builders import campaign, experiment, subscriber, variant

pytestmark = pytest.mark.django_db

SHOE_IMAGE = "https://cdn.stride.example/shoes/trail-x.jpg"
BODY = (
    "Hi {first_name},\n\nYour trails miss you. The Trail Runner X grips wet rock.\n\n15% off with code AUTUMN15.\n\n"
    "Take a look: https://shop.example.com/autumn\n\nSee you on the trails,\nThe Stride team"
)


def png(size: tuple[int, int] = (120, 40), kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#0b4f6c").save(buffer, kind)
    return buffer.getvalue()


class _Tags(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags(html: str, name: str) -> list[dict[str, str]]:
    parser = _Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def stride() -> Brand:
    brand = current_brand()
    brand.name, brand.primary_colour, brand.accent_colour = "Stride Running", "#0b4f6c", "#a3301c"
    brand.logo_url, brand.address = "https://cdn.stride.example/logo.png", "12 Harbour Road\nBristol BS1 4RN"
    brand.reply_to = "hello@stride.example"
    brand.full_clean()
    brand.save()
    return brand


def shoe_campaign(**fields: Any) -> Any:
    camp = campaign(landing_url="https://shop.example.com/autumn", sign_off="See you on the trails,\nThe Stride team",
                    **fields)
    shoe = product(title="Trail Runner X", price=Decimal("129.00"), currency="USD",
                   attributes={"image_url": SHOE_IMAGE})
    socks = product(title="Merino socks", price=Decimal("12.50"), currency="EUR")
    camp.products.set([shoe, socks])
    return camp


# --- the brand's rules ------------------------------------------------------------------------------------


def test_colours_are_hex_and_readable_under_white_text() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0 and round(contrast("#1f5f8b", "#ffffff"), 1) == 6.8
    brand = current_brand()
    brand.primary_colour, brand.accent_colour = "#ffcc00", "teal"
    with pytest.raises(ValidationError) as refused:
        brand.full_clean()
    errors = refused.value.message_dict
    assert errors["primary_colour"] == [
        "primary colour: #ffcc00 gives white button text a contrast of 1.5:1 against white; at least 4.5:1 is "
        "needed to read it (WCAG AA): choose a darker colour"
    ]
    assert errors["accent_colour"] == ["accent colour: 'teal' is not a colour written as #rrggbb (e.g. #1f5f8b)"]
    brand.primary_colour, brand.accent_colour = "#0B4F6C", "#a3301c"
    brand.full_clean()  # upper-case hex is a colour too


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("logo.png", b"not an image at all", "not an image Pillow can read"),
    ("logo.bmp", png(kind="BMP"), "BMP images are not shown by every mail client; upload a PNG, JPEG or GIF"),
    ("logo.png", png((2400, 300)), "2400x300 pixels; at most 2000 on each side"),
    ("logo.png", b"\x89PNG" + b"0" * LOGO_MAX_BYTES, "at most 1,024 KB fit in an email"),
])
def test_a_logo_that_mail_clients_cannot_show_is_refused(name: str, content: bytes, reason: str) -> None:
    brand = current_brand()
    brand.logo = SimpleUploadedFile(name, content)
    with pytest.raises(ValidationError) as refused:
        brand.full_clean()
    assert reason in refused.value.message_dict["logo"][0]


def test_a_logo_address_must_be_https() -> None:
    brand = current_brand()
    brand.logo_url = "http://cdn.example/logo.png"
    with pytest.raises(ValidationError, match="must start with https://"):
        brand.full_clean()


def test_prices_in_the_products_currency() -> None:
    assert format_price(Decimal("129"), "USD") == "$129.00"
    assert format_price(Decimal("12.5"), "eur") == "€12.50"
    assert format_price(Decimal("1200"), "JPY") == "¥1,200"
    assert format_price(Decimal("59.9"), "CHF") == "59.90 CHF"
    assert format_price(None, "USD") == ""


# --- the HTML ---------------------------------------------------------------------------------------------


def test_the_email_carries_the_brand_products_offer_and_signed_footer() -> None:
    brand = stride()
    camp = shoe_campaign()
    ada = subscriber(name="Ada Lovelace")
    message = render(variant(camp, body=BODY), ada, message_id=41)
    html = message.html
    # structure that mail clients need: no script, no stylesheet, a 600px column, a narrow-screen media query,
    # light colours fixed, the preheader hidden first thing in the body
    assert "<script" not in html and "<link" not in html and "@media only screen and (max-width: 620px)" in html
    assert 'width="600"' in html and "max-width:600px" in html and '<meta name="color-scheme" content="light">' in html
    assert re.search(r'<body[^>]*>\s*<div data-text="skip" style="display:none;[^"]*">Stoneware that keeps', html)
    # the brand: its colour on the header and every button, its logo with its name as alt text
    logo = tags(html, "img")[0]
    assert (logo["src"], logo["alt"]) == ("https://cdn.stride.example/logo.png", "Stride Running")
    buttons = [a for a in tags(html, "a") if "data-button" in a]
    assert len(buttons) == 3  # the copy's call to action and one per product
    assert all("background-color:#0b4f6c" in a["style"] and "color:#ffffff" in a["style"] for a in buttons)
    # the call to action carries the tracking the product links have
    cta = buttons[0]["href"]
    assert cta.startswith("https://shop.example.com/autumn?utm_source=ecommarketing") and "ecm_message=41" in cta
    # product blocks: image (alt = title), title, price in the product's currency, a button to its tracked link
    shoe, socks = message.products
    assert [b["href"] for b in buttons[1:]] == [shoe.url, socks.url] and "product=" in shoe.url
    images = {i["src"]: i["alt"] for i in tags(html, "img")}
    assert images[SHOE_IMAGE] == "Trail Runner X" and len(images) == 2  # socks have no picture: no image
    assert re.search(r'class="ecm-price" style="[^"]*color:#a3301c;[^"]*">\$129\.00</p>', html)
    assert ">€12.50</p>" in html and html.count(f">{PRODUCT_CTA_LABEL}</a>") == 2
    # the offer sentence is the offer block; the footer has the required text, the address and the signed link
    assert re.search(r'border-left:4px solid #a3301c;[^"]*">\s*<p style="margin:0;">15% off with code AUTUMN15\.</p>',
                     html)
    unsubscribe = next(a for a in tags(html, "a") if a.get("class") == "ecm-unsubscribe")["href"]
    assert read_token(unsubscribe.rstrip("/").rsplit("/", 1)[1]).customer_id == ada.pk
    assert "12 Harbour Road<br>Bristol BS1 4RN" in html and brand.reply_to not in html


def test_the_plain_text_is_read_from_the_html_and_lists_every_link() -> None:
    stride()
    camp = shoe_campaign()
    message = render(variant(camp, body=BODY), subscriber(name="Ada Lovelace"), message_id=41)
    links = {a["href"] for a in tags(message.html, "a")}
    assert links and all(link in message.body for link in links)
    text = message.body
    shoe, socks = message.products
    assert text.startswith("Hi Ada,\n\nYour trails miss you.")
    assert f"Trail Runner X\n$129.00\nView product: {shoe.url}" in text
    assert f"Merino socks\n€12.50\nView product: {socks.url}" in text
    assert "\n\nTake a look: https://shop.example.com/autumn?" in text and "15% off with code AUTUMN15." in text
    assert text.index("Merino socks") < text.index("See you on the trails")  # products before the sign-off
    assert text.endswith("Stride Running\n12 Harbour Road\nBristol BS1 4RN\n\nUnsubscribe: "
                         + next(a["href"] for a in tags(message.html, "a") if a.get("class") == "ecm-unsubscribe"))
    assert "<" not in text and "Stoneware that keeps" not in text  # no markup, no hidden preheader


def test_plain_text_rules_on_hand_written_html() -> None:
    html = ('<html><head><title>t</title><style>p{color:red}</style></head><body><div data-text="skip">hidden</div>'
            '<h1>News</h1><p>See <a href="https://a.example/x">our page</a> or https://b.example.</p>'
            '<p><a href="https://c.example/" data-button="1">Shop now</a></p>'
            '<p>Line one<br>line <b>two</b></p></body></html>')
    assert html_to_text(html) == (
        "News\n\nSee our page (https://a.example/x) or https://b.example.\nShop now: https://c.example/\n"
        "Line one\nline two"
    )


def test_the_arms_discount_heads_the_offer_block() -> None:
    stride()
    camp = shoe_campaign()
    v = variant(camp, body=BODY, status="approved")
    arm = Arm.objects.get(experiment=experiment(camp), variant=v)
    arm.discount_percent = Decimal("15.0")
    message = render(v, subscriber(), arm=arm)
    assert re.search(r'color:#a3301c;">15% off</p>\s*<p style="margin:0;">15% off with code AUTUMN15\.</p>',
                     message.html)
    assert "15% off\n15% off with code AUTUMN15." in message.body
    no_offer_copy = render(variant(camp, body="Hi {first_name},\n\nNew shoes are in."), subscriber(), arm=arm)
    assert "15% off\n15% off with code AUTUMN15." in no_offer_copy.body  # the arm's offer shows all the same


def test_the_products_go_where_the_copy_says() -> None:
    camp = shoe_campaign()
    message = render(variant(camp, body="Hi {first_name},\n\n{products}\n\nMore soon."), subscriber(name="Ada"))
    assert message.body.index("Picked for you") < message.body.index("More soon.")


def test_without_a_logo_the_header_shows_the_name() -> None:
    html = render(variant(shoe_campaign(), body=BODY), subscriber()).html
    assert [i["alt"] for i in tags(html, "img")] == ["Trail Runner X"]  # the product's picture only
    assert re.search(r'<span style="color:#ffffff;font-size:22px;font-weight:bold;">Our shop</span>', html)


# --- the logo on this server, the admin page ---------------------------------------------------------------


def test_an_uploaded_logo_is_served_by_name_and_nothing_else(client: Client, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    brand = current_brand()
    brand.logo = SimpleUploadedFile("stride.png", png())
    brand.full_clean()
    brand.save()
    address = logo_address(brand)
    name = brand.logo.name.rsplit("/", 1)[1]
    assert address == f"{settings.PUBLIC_BASE_URL}/brand/logo/{name}"
    response = client.get(f"/brand/logo/{name}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png()  # type: ignore[attr-defined]
    assert client.get("/brand/logo/other.png").status_code == 404
    assert client.get("/brand/logo/..%2F..%2Fsettings.py").status_code == 404
    assert client.post(f"/brand/logo/{name}").status_code == 405


def test_a_logo_is_served_as_the_image_it_is_whatever_its_uploaded_name(
    client: Client, settings: Any, tmp_path: Any
) -> None:
    """A GIF uploaded as `logo.html` is still a GIF to the browser: never a page or script of this origin."""
    settings.MEDIA_ROOT = tmp_path
    brand = current_brand()
    brand.logo = SimpleUploadedFile("logo.html", png(kind="GIF"))
    brand.full_clean()
    brand.save()
    response = client.get(f"/brand/logo/{brand.logo.name.rsplit('/', 1)[1]}")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Disposition"] == "inline"


def test_the_brand_page_is_one_row_refuses_unreadable_colours_and_audits_changes(manager_web: Client) -> None:
    listing = manager_web.get("/admin/campaigns/brand/")
    brand = Brand.objects.get()  # made on the first visit, with the defaults
    assert listing.status_code == 200
    assert f'href="/admin/campaigns/brand/{brand.pk}/change/"' in listing.content.decode()
    form = {"name": "Stride Running", "primary_colour": "#ffcc00", "accent_colour": "#a3301c", "logo_url": "",
            "address": "12 Harbour Road", "reply_to": "hello@stride.example"}
    refused = manager_web.post(f"/admin/campaigns/brand/{brand.pk}/change/", form)
    assert refused.status_code == 200 and "gives white button text a contrast of 1.5:1" in refused.content.decode()
    brand_entries = AuditEntry.objects.filter(target_type="campaigns.brand")
    assert Brand.objects.get().name == "Our shop" and not brand_entries.exists()
    saved = manager_web.post(f"/admin/campaigns/brand/{brand.pk}/change/", {**form, "primary_colour": "#0b4f6c"})
    assert saved.status_code == 302
    entry = brand_entries.get()
    assert entry.actor_label == "manager" and entry.details["what"] == "brand"
    assert entry.details["changes"]["primary_colour"] == {"from": "#1f5f8b", "to": "#0b4f6c"}
    assert set(entry.details["changes"]) == {"name", "primary_colour", "accent_colour", "address", "reply_to"}
    assert manager_web.get("/admin/campaigns/brand/add/").status_code == 403
