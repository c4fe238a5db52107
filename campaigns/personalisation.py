"""Personalisation at send time: an approved variant filled in for one customer.

`render(variant, customer, *, message_id=None) -> RenderedMessage(subject, preheader, body, products, html)`
is what delivery sends and what the admin preview shows for a chosen customer. It:
- puts the customer's first name where the copy says `{first_name}` (email copy without the token gets a
  "Hi <name>," greeting); a neutral "there" when the name is unknown or looks like an address;
- picks up to `PRODUCTS_PER_MESSAGE` products: the customer's own recommendations when the campaign asks
  for them (`RecommendationSet` if precomputed, else `recommend_for_customer`), otherwise the variant's
  product then the campaign's chosen products; each with a link to `campaign.landing_url` carrying the
  product, UTM tags (not in SMS) and the campaign and message ids (`ecm_campaign`, `ecm_message`) for click
  attribution;
  `{products}` in the copy marks where they go, else they follow the body (in an email: before the sign-off);
- ends with `campaign.required_text` verbatim (moved to the end when the copy already carries it);
- email: lays the message out in the brand's template (`campaigns.email_template`: header with the logo,
  the subject as headline, paragraphs, buttons, the offer block with the arm's discount, product blocks with
  image and price, a footer with the required text, the brand's address and the customer's signed
  unsubscribe link, which the headers carry too); the plain-text part is read from that HTML
  (`campaigns.plain_text`), so it lists every link;
- respects the channel limits of `campaigns.channels.LIMITS` (subject, preheader; the whole body for SMS 160
  and push 178): the product list is shortened first, then the copy (never the required text). Email
  bodies may grow past the generation limit with the greeting and the product list.
Generated copy carries no tokens (the guardrails refuse placeholders); `{first_name}` and `{products}` are
honoured for hand-written copy.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from catalog.models import Product
from customers.models import Customer
from customers.unsubscribe import unsubscribe_url
from recommendations import served
from recommendations.models import RecommendationSet
from recommendations.ranking import recommend_for_customer

from .brand import current_brand
from .channels import LIMITS
from .email_template import ProductCard, discount_label, email_content, format_price, render_email
from .generation.parts import offer_sentence
from .models import Arm, Brand, Campaign, Variant
from .plain_text import html_to_text

logger = logging.getLogger(__name__)

PRODUCTS_PER_MESSAGE = 3
NAME_FALLBACK = "there"
FIRST_NAME = "{first_name}"
PRODUCTS = "{products}"
ELLIPSIS = "…"


@dataclass(frozen=True)
class RenderedProduct:
    id: int
    sku: str
    title: str
    url: str
    price: str = ""  # formatted in the product's currency, "" without a price
    image: str = ""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    preheader: str
    body: str
    products: list[RenderedProduct] = field(default_factory=list)
    html: str = ""

    @property
    def product_ids(self) -> list[int]:
        return [p.id for p in self.products]


def first_name(customer: Customer) -> str:
    """The customer's first name, or a neutral word when unknown (never an email address or an id)."""
    name = (customer.name or "").strip()
    if not name or "@" in name or any(ch.isdigit() for ch in name):
        return NAME_FALLBACK
    return name.split()[0][:40]


def tracked_url(campaign: Campaign, variant: Variant, product: Product | None, message_id: int | None) -> str:
    """`campaign.landing_url` with the product, UTM tags and ids for attribution; "" without a landing URL."""
    if not campaign.landing_url:
        return ""
    parts = urlsplit(campaign.landing_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if product is not None:
        query["product"] = product.sku
    if campaign.channel != Campaign.Channel.SMS:  # every character counts in an SMS: ids only
        query.update({
            "utm_source": "ecommarketing",
            "utm_medium": campaign.channel,
            "utm_campaign": f"campaign-{campaign.pk}",
            "utm_content": variant.label,
        })
    query["ecm_campaign"] = str(campaign.pk)
    if message_id is not None:
        query["ecm_message"] = str(message_id)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _recommended_ids(customer: Customer) -> list[int]:
    stored = RecommendationSet.objects.filter(customer=customer).values_list("items", flat=True).first()
    if stored:
        return [int(item["product"]) for item in stored if isinstance(item, dict) and "product" in item]
    result = recommend_for_customer(customer, k=PRODUCTS_PER_MESSAGE)
    return [item.product.pk for item in result.items]


def choose_products(variant: Variant, customer: Customer) -> list[Product]:
    """Active, in-stock products for this message, best first (see the module docstring)."""
    campaign = variant.campaign
    ids: list[int] = []
    if campaign.recommend_products and customer.pk is not None:  # a test send's sample customer is not stored
        ids = _recommended_ids(customer)
    if not ids:
        if variant.product_id:
            ids.append(variant.product_id)
        ids.extend(pk for pk in campaign.products.order_by("pk").values_list("pk", flat=True) if pk not in ids)
    available = Product.objects.in_bulk(ids[: PRODUCTS_PER_MESSAGE * 3])
    ordered = [available[pk] for pk in ids if pk in available and available[pk].is_active and available[pk].in_stock]
    return ordered[:PRODUCTS_PER_MESSAGE]


def _fill_name(text: str, name: str) -> str:
    return text.replace(FIRST_NAME, name)


def _product_lines(products: list[RenderedProduct]) -> list[str]:
    return [f"{p.title} {p.url}".strip() for p in products]


def _compose(copy: str, product_lines: list[str], required: str) -> str:
    """An SMS or push body: the copy with the products where `{products}` stands (else after it), then the
    required text, on one line."""
    products_text = " ".join(product_lines)
    if required and required in copy:  # the copy's own copy of the required text moves to the very end
        copy = copy.replace(required, "").strip()
    if PRODUCTS in copy:
        text = copy.replace(PRODUCTS, products_text).strip()
    elif products_text:
        text = f"{copy.rstrip()} {products_text}"
    else:
        text = copy.strip()
    if required:
        text = f"{text} {required}".strip()
    return re.sub(r"[ \t]+", " ", text)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)].rstrip()
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space].rstrip(" ,;:")
    return cut + ELLIPSIS


def _fit(
    copy: str, products: list[RenderedProduct], required: str, channel: str, limit: int | None
) -> tuple[str, list[RenderedProduct]]:
    """The composed SMS or push text within `limit`: drop products from the end first, then shorten the copy."""
    kept = list(products)
    while True:
        text = _compose(copy, _product_lines(kept), required)
        if limit is None or len(text) <= limit or not kept:
            break
        kept.pop()
    if limit is not None and len(text) > limit:
        room = limit - len(_compose("", [], required))
        if room <= 0:
            raise ValueError(f"the required text alone ({len(required)} characters) exceeds the {channel} limit")
        text = _compose(_truncate(copy.replace(PRODUCTS, "").strip(), room), [], required)
    return text, kept


def product_image(product: Product) -> str:
    """The product's picture for the email: `attributes["image_url"]` (or `"image"`) when it is an https
    address (mail clients block plain http images); else "" and the block shows no image."""
    for key in ("image_url", "image"):
        value = product.attributes.get(key) if isinstance(product.attributes, dict) else None
        if isinstance(value, str) and value.startswith("https://") and len(value) <= 2000:
            return value
    return ""


def _email(
    campaign: Campaign, variant: Variant, copy: str, products: list[RenderedProduct], subject: str,
    preheader: str, link: str, arm: Arm | None, brand: Brand, message_id: int | None,
) -> tuple[str, str]:
    """The email's HTML in the brand's template and its plain text, read from that HTML. The copy's own
    landing link (its call to action) gets the tracking the product links have."""
    required = campaign.required_text.strip()
    if required and required in copy:  # the copy's own copy of the required text moves to the footer
        copy = copy.replace(required, "").strip()
    if campaign.landing_url:
        tracked = tracked_url(campaign, variant, None, message_id)
        copy = re.sub(rf"(?<!\S){re.escape(campaign.landing_url)}(?!\S)", lambda _: tracked, copy)
    cards = tuple(ProductCard(p.title, p.url, p.image, p.price) for p in products)
    content = email_content(
        subject=subject, preheader=preheader, copy=copy, products=cards, required_text=required,
        unsubscribe=link, brand=brand, offer=offer_sentence(campaign.offer) if campaign.offer.strip() else "",
        discount=discount_label(arm.discount_percent if arm is not None else None),
        sign_off=campaign.sign_off.strip(),
    )
    html = render_email(content)
    return html, html_to_text(html)


def render(
    variant: Variant, customer: Customer, *, message_id: int | None = None, unsubscribe: str | None = None,
    arm: Arm | None = None, brand: Brand | None = None,
) -> RenderedMessage:
    """The variant filled in for `customer` (name, products with tracked links, required text), within limits.
    Email is laid out in the brand's template (`brand`, default the shop's; the offer block shows `arm`'s
    discount) and ends with `unsubscribe` (default: the customer's signed link; a test link for an unsaved
    customer); its text part is read from the HTML."""
    campaign = variant.campaign
    channel = campaign.channel
    limits: dict[str, int] = LIMITS.get(channel, {})
    name = first_name(customer)
    products = [
        RenderedProduct(
            p.pk, p.sku, p.title, tracked_url(campaign, variant, p, message_id),
            price=format_price(p.price, p.currency), image=product_image(p),
        )
        for p in choose_products(variant, customer)
    ]
    subject = _fill_name(variant.subject, name)
    preheader = _fill_name(variant.preheader, name)
    if "subject" in limits:
        subject = _truncate(subject, limits["subject"])
    if "preheader" in limits:
        preheader = _truncate(preheader, limits["preheader"])
    copy = variant.body
    if channel == Campaign.Channel.EMAIL and FIRST_NAME not in copy:
        copy = f"Hi {FIRST_NAME},\n\n{copy.lstrip()}"
    copy = _fill_name(copy, name)
    if channel == Campaign.Channel.EMAIL and campaign.landing_url and not products:
        copy = f"{copy.rstrip()}\n\n{tracked_url(campaign, variant, None, message_id)}"
    if channel == Campaign.Channel.EMAIL:  # email bodies have no hard total limit: the template lays them out
        link = unsubscribe if unsubscribe is not None else unsubscribe_url(customer if customer.pk else None)
        html, body = _email(campaign, variant, copy, products, subject, preheader, link, arm,
                            brand if brand is not None else current_brand(), message_id)
        _count_served(campaign, message_id, products)
        return RenderedMessage(subject=subject, preheader=preheader, body=body, products=products, html=html)
    body, kept = _fit(copy, products, campaign.required_text.strip(), channel, limits.get("body"))
    _count_served(campaign, message_id, kept)
    return RenderedMessage(subject=subject, preheader=preheader, body=body, products=kept)


def _count_served(campaign: Campaign, message_id: int | None, products: list[RenderedProduct]) -> None:
    """Recommended products in a message being sent (not a preview) count as recommendations served."""
    if message_id is not None and campaign.recommend_products and products:
        served.record(served.Channel.CAMPAIGN, len(products))


def preview(variant: Variant, customer: Customer) -> dict[str, Any]:
    """`render` as JSON for the API and the admin preview."""
    message = render(variant, customer)
    return {
        "variant": variant.pk,
        "customer": customer.pk,
        "subject": message.subject,
        "preheader": message.preheader,
        "body": message.body,
        "html": message.html,
        "products": [{"id": p.id, "sku": p.sku, "title": p.title, "url": p.url, "price": p.price, "image": p.image}
                     for p in message.products],
    }
