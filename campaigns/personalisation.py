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
  `{products}` in the copy marks where they go, else they follow the body;
- ends with `campaign.required_text` verbatim (moved to the end when the copy already carries it); an email
  then ends with the customer's signed unsubscribe link (`customers.unsubscribe`; the headers carry it too);
- respects the channel limits of `campaigns.channels.LIMITS` (subject, preheader; the whole body for SMS 160
  and push 178): the product list is shortened first, then the copy (never the required text). Email
  bodies may grow past the generation limit with the greeting and the product list.
Generated copy carries no tokens (the guardrails refuse placeholders); `{first_name}` and `{products}` are
honoured for hand-written copy.
"""

from __future__ import annotations

import html as html_lib
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

from .channels import LIMITS
from .models import Campaign, Variant

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


def _product_lines(products: list[RenderedProduct], channel: str) -> list[str]:
    if channel == Campaign.Channel.EMAIL:
        return [f"- {p.title}: {p.url}" if p.url else f"- {p.title}" for p in products]
    return [f"{p.title} {p.url}".strip() for p in products]


def _compose(copy: str, product_lines: list[str], required: str, channel: str) -> str:
    joiner = "\n" if channel == Campaign.Channel.EMAIL else " "
    products_text = joiner.join(product_lines)
    if required and required in copy:  # the copy's own copy of the required text moves to the very end
        copy = copy.replace(required, "").strip()
    if PRODUCTS in copy:
        text = copy.replace(PRODUCTS, products_text).strip()
    elif products_text:
        header = "\n\nPicked for you:\n" if channel == Campaign.Channel.EMAIL else " "
        text = f"{copy.rstrip()}{header}{products_text}"
    else:
        text = copy.strip()
    if required:
        text = f"{text}\n\n{required}" if channel == Campaign.Channel.EMAIL else f"{text} {required}".strip()
    return re.sub(r"[ \t]+", " ", text) if channel != Campaign.Channel.EMAIL else text


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
    """The composed text within `limit`: drop products from the end first, then shorten the copy."""
    kept = list(products)
    while True:
        text = _compose(copy, _product_lines(kept, channel), required, channel)
        if limit is None or len(text) <= limit or not kept:
            break
        kept.pop()
    if limit is not None and len(text) > limit:
        room = limit - len(_compose("", [], required, channel))
        if room <= 0:
            raise ValueError(f"the required text alone ({len(required)} characters) exceeds the {channel} limit")
        text = _compose(_truncate(copy.replace(PRODUCTS, "").strip(), room), [], required, channel)
    return text, kept


_URL = re.compile(r"https?://[^\s<]+")
_PRODUCT_LINE = re.compile(r"^- (?P<title>.+): (?P<url>https?://\S+)$")
# inline styles: email clients drop <style> blocks and stylesheets
BUTTON_STYLE = (
    "display:inline-block;padding:10px 20px;background:#1f5f8b;color:#ffffff;border-radius:4px;"
    "text-decoration:none;font-weight:bold;max-width:100%;box-sizing:border-box;text-align:center"
)
BODY_STYLE = (
    "max-width:600px;margin:0 auto;padding:16px;font-family:Helvetica,Arial,sans-serif;font-size:15px;"
    "line-height:1.5;color:#222;overflow-wrap:anywhere;word-break:break-word"
)
CTA_LABEL = "Shop now"
PRODUCT_CTA_LABEL = "View product"


def button(url: str, label: str) -> str:
    """A call to action as a link styled as a button (`url` and `label` already HTML-escaped)."""
    return f'<a href="{url}" style="{BUTTON_STYLE}">{label}</a>'


def _html_line(line: str) -> str:
    """One escaped line: a product line becomes its title and a button, a line that is only a link a
    "Shop now" button; other links stay inline."""
    product = _PRODUCT_LINE.match(line)
    if product:
        return f"<strong>{product['title']}</strong><br>{button(product['url'], PRODUCT_CTA_LABEL)}"
    if _URL.fullmatch(line.strip()):
        return button(line.strip(), CTA_LABEL)
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', line)


def _html(subject: str, preheader: str, body: str) -> str:
    """The HTML alternative: the same text in paragraphs in a column at most 600px wide (long links wrap),
    product and landing links as buttons, other links clickable, the preheader hidden."""
    paragraphs = "".join(
        "<p>" + "<br>".join(_html_line(line) for line in p.split("\n")) + "</p>"
        for p in html_lib.escape(body).split("\n\n")
        if p.strip()
    )
    hidden = f'<div style="display:none">{html_lib.escape(preheader)}</div>' if preheader else ""
    return (
        f'<html><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_lib.escape(subject)}</title></head>"
        f'<body style="margin:0"><div style="{BODY_STYLE}">{hidden}{paragraphs}</div></body></html>'
    )


UNSUBSCRIBE_LABEL = "Unsubscribe:"


def render(
    variant: Variant, customer: Customer, *, message_id: int | None = None, unsubscribe: str | None = None
) -> RenderedMessage:
    """The variant filled in for `customer` (name, products with tracked links, required text), within limits.
    Email ends with `unsubscribe` (default: the customer's signed link; a test link for an unsaved customer)."""
    campaign = variant.campaign
    channel = campaign.channel
    limits: dict[str, int] = LIMITS.get(channel, {})
    name = first_name(customer)
    products = [
        RenderedProduct(p.pk, p.sku, p.title, tracked_url(campaign, variant, p, message_id))
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
    # email bodies grow with the greeting and product list; only SMS and push have hard total limits
    body_limit = None if channel == Campaign.Channel.EMAIL else limits.get("body")
    body, kept = _fit(copy, products, campaign.required_text.strip(), channel, body_limit)
    if message_id is not None and campaign.recommend_products and kept:  # a message being sent, not a preview
        served.record(served.Channel.CAMPAIGN, len(kept))
    if channel == Campaign.Channel.EMAIL:
        link = unsubscribe if unsubscribe is not None else unsubscribe_url(customer if customer.pk else None)
        body = f"{body.rstrip()}\n\n{UNSUBSCRIBE_LABEL} {link}"
    html = _html(subject, preheader, body) if channel == Campaign.Channel.EMAIL else ""
    return RenderedMessage(subject=subject, preheader=preheader, body=body, products=kept, html=html)


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
        "products": [{"id": p.id, "sku": p.sku, "title": p.title, "url": p.url} for p in message.products],
    }
