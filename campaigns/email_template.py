"""The branded email: the composed copy laid out in the shop's template, and its plain-text part from it.

`email_content(...)` turns the message personalisation composed (greeting, paragraphs, the offer sentence,
"button text: landing URL", sign-off, the required text) into blocks: paragraphs (links inline), buttons
(a paragraph that is "label: URL" or only a URL), the offer (the offer sentence, with the arm's discount
when it has one), the products (image, title, price in the product's currency, a button to its tracked
link; where the copy says `{products}`, else before the sign-off) and the footer (required text, the
brand's address, the signed unsubscribe link).

`render_email(content)` fills `campaigns/email/message.html`: a table layout at most 600px wide with inline
styles (mail clients drop stylesheets; the one `<style>` holds the narrow-screen media query, which clients
that drop it simply ignore), no script, no external CSS, colours set on every cell with `color-scheme: light`
so dark-mode clients keep the contrast, alt text on every image and a hidden preheader. The plain-text part
is `plain_text.html_to_text` of that HTML: one source, every link listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string

from .brand import logo_address
from .models import Brand

TEMPLATE = "campaigns/email/message.html"
PRODUCTS_MARKER = "{products}"
CTA_LABEL = "Shop now"
PRODUCT_CTA_LABEL = "View product"
PRODUCTS_HEADING = "Picked for you"
UNSUBSCRIBE_LABEL = "Unsubscribe"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "AUD": "A$", "CAD": "C$"}
NO_DECIMALS = {"JPY", "KRW"}

_URL = re.compile(r"https?://[^\s<>\"]+")
_BUTTON = re.compile(r"(?P<label>[^\n:]{1,60}):\s+(?P<url>https?://\S+)")


@dataclass(frozen=True)
class Segment:
    """A run of text, a link when `url` is set."""

    text: str
    url: str = ""


@dataclass(frozen=True)
class Block:
    """One piece of the email's body: "text" (lines of segments), "button", "offer" or "products"."""

    kind: str
    lines: tuple[tuple[Segment, ...], ...] = ()
    label: str = ""
    url: str = ""
    terms: str = ""


@dataclass(frozen=True)
class ProductCard:
    title: str
    url: str
    image: str
    price: str


@dataclass(frozen=True)
class EmailContent:
    subject: str
    preheader: str
    blocks: tuple[Block, ...]
    products: tuple[ProductCard, ...]
    required_text: str
    unsubscribe: str
    brand_name: str
    primary_colour: str
    accent_colour: str
    logo: str
    address: str


def format_price(price: Decimal | None, currency: str) -> str:
    """"$129.00", "€59.90", "1,200 JPY" style: a symbol for common currencies, else the ISO code after."""
    if price is None:
        return ""
    code = (currency or "").upper()
    digits = 0 if code in NO_DECIMALS else 2
    amount = f"{price:,.{digits}f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{amount}" if symbol else f"{amount} {code}".strip()


def segments(line: str) -> tuple[Segment, ...]:
    """A line split into text and links (a trailing full stop or bracket stays text)."""
    out: list[Segment] = []
    position = 0
    for match in _URL.finditer(line):
        url = match.group(0).rstrip(".,;:!?)")
        if match.start() > position:
            out.append(Segment(line[position : match.start()]))
        out.append(Segment(url, url))
        position = match.start() + len(url)
    if position < len(line):
        out.append(Segment(line[position:]))
    return tuple(out)


def _text(paragraph: str) -> Block:
    return Block("text", lines=tuple(segments(line) for line in paragraph.split("\n")))


def _paragraph_block(paragraph: str, offer: str, discount: str) -> Block:
    stripped = paragraph.strip()
    if offer and stripped == offer:
        return Block("offer", label=discount, terms=offer)
    button = _BUTTON.fullmatch(stripped)
    if button and "\n" not in stripped:
        return Block("button", label=button["label"].strip(), url=button["url"])
    if _URL.fullmatch(stripped):
        return Block("button", label=CTA_LABEL, url=stripped)
    return _text(stripped)


def body_blocks(copy: str, *, offer: str, discount: str, sign_off: str, has_products: bool) -> tuple[Block, ...]:
    """The copy's paragraphs as blocks, with the products where `{products}` stands, else before the sign-off
    (else at the end). The offer sentence becomes the offer block (with the arm's discount); an arm with a
    discount but no offer sentence in the copy gets the block after the first paragraph after the greeting."""
    blocks: list[Block] = []
    placed = False
    for paragraph in (p for p in re.split(r"\n\s*\n", copy) if p.strip()):
        if PRODUCTS_MARKER in paragraph:
            before, _, after = paragraph.partition(PRODUCTS_MARKER)
            if before.strip():
                blocks.append(_paragraph_block(before, offer, discount))
            blocks.append(Block("products"))
            placed = True
            if after.strip():
                blocks.append(_paragraph_block(after, offer, discount))
            continue
        if sign_off and paragraph.strip() == sign_off and has_products and not placed:
            blocks.append(Block("products"))
            placed = True
        blocks.append(_paragraph_block(paragraph, offer, discount))
    if has_products and not placed:
        blocks.append(Block("products"))
    if discount and not any(b.kind == "offer" for b in blocks):
        blocks.insert(min(2, len(blocks)), Block("offer", label=discount, terms=offer))
    if not has_products:
        blocks = [b for b in blocks if b.kind != "products"]
    return tuple(blocks)


def discount_label(percent: Decimal | None) -> str:
    """"15% off" for an arm offering a discount; "" for none (blank, 0 or the holdout)."""
    if percent is None or percent <= 0:
        return ""
    return f"{percent.normalize():f}% off"


def email_content(
    *, subject: str, preheader: str, copy: str, products: tuple[ProductCard, ...], required_text: str,
    unsubscribe: str, brand: Brand, offer: str, discount: str, sign_off: str,
) -> EmailContent:
    """The content of one email (see the module docstring)."""
    return EmailContent(
        subject=subject,
        preheader=preheader,
        blocks=body_blocks(copy, offer=offer, discount=discount, sign_off=sign_off, has_products=bool(products)),
        products=products,
        required_text=required_text,
        unsubscribe=unsubscribe,
        brand_name=brand.name,
        primary_colour=brand.primary_colour,
        accent_colour=brand.accent_colour,
        logo=logo_address(brand),
        address=brand.address.strip(),
    )


def render_email(content: EmailContent) -> str:
    """The email's HTML (`TEMPLATE`), as a plain string: not marked safe, so a page that shows it (the
    preview's `srcdoc`) escapes it."""
    return "".join(render_to_string(TEMPLATE, {
        "email": content,
        "products_heading": PRODUCTS_HEADING,
        "product_cta": PRODUCT_CTA_LABEL,
        "unsubscribe_label": UNSUBSCRIBE_LABEL,
    }))
