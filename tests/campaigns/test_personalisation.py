"""Send-time personalisation: names, products and tracked links, required text, channel limits."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from campaigns.email_template import CTA_LABEL, PRODUCT_CTA_LABEL
from campaigns.personalisation import first_name, render
from customers.unsubscribe import read_token, unsubscribe_url
from recommendations.models import RecommendationSet
from tests.catalog.builders import product

from .builders import campaign, subscriber, variant

pytestmark = pytest.mark.django_db


def test_first_name_and_neutral_fallback() -> None:
    assert first_name(subscriber(name="Grace Hopper")) == "Grace"
    for name in ("", "g.hopper@example.com", "user12345"):
        assert first_name(subscriber(name=name)) == "there"


def test_email_gets_greeting_products_links_and_required_text_last() -> None:
    camp = campaign(landing_url="https://shop.example.com/autumn?ref=nl", required_text="Reply STOP to unsubscribe.")
    mugs = [product(title=f"Mug {i}") for i in range(4)]
    camp.products.set(mugs)
    product()  # not chosen
    v = variant(camp, body="Reply STOP to unsubscribe. Our mugs are back.")
    grace = subscriber(name="Grace Hopper")
    message = render(v, grace, message_id=42)
    assert message.body.startswith("Hi Grace,")
    copy, link = message.body.rsplit("\n\nUnsubscribe: ", 1)  # the signed unsubscribe link closes every email
    assert copy.split("\n\n")[-2] == "Reply STOP to unsubscribe." and message.body.count("Reply STOP") == 1
    assert link.startswith(unsubscribe_url(None).split("/unsubscribe/")[0] + "/unsubscribe/")
    assert read_token(link.rstrip("/").rsplit("/", 1)[1]).customer_id == grace.pk  # signed for this customer
    assert f'href="{link}"' in message.html
    assert [p.title for p in message.products] == ["Mug 0", "Mug 1", "Mug 2"]  # at most three
    query = parse_qs(urlsplit(message.products[0].url).query)
    assert query["ref"] == ["nl"] and query["product"] == [mugs[0].sku]
    assert query["ecm_campaign"] == [str(camp.pk)] and query["ecm_message"] == ["42"]
    assert query["utm_medium"] == ["email"] and query["utm_content"] == ["A"]
    assert 'href="https://shop.example.com/autumn' in message.html


def test_recommended_products_come_from_the_precomputed_set() -> None:
    camp = campaign(recommend_products=True, landing_url="https://shop.example.com/")
    picks = [product(title=f"Pick {i}") for i in range(2)]
    gone = product(title="Sold out", in_stock=False)
    cust = subscriber()
    RecommendationSet.objects.create(
        customer=cust, items=[{"product": gone.pk}, {"product": picks[1].pk}, {"product": picks[0].pk}]
    )
    message = render(variant(camp), cust)
    assert [p.title for p in message.products] == ["Pick 1", "Pick 0"]  # rank order, unavailable dropped


def test_sms_drops_products_before_shortening_the_copy() -> None:
    camp = campaign(channel="sms", required_text="Reply STOP to opt out", landing_url="https://shop.example.com/")
    camp.products.set([product(title="Stoneware mug")])
    ada = subscriber(name="Ada Lovelace")
    short = variant(camp, subject="", preheader="", body="Mugs are back.")
    message = render(short, ada)
    assert len(message.body) <= 160 and message.products and message.body.endswith("Reply STOP to opt out")
    long = variant(camp, subject="", preheader="", body="Warm tea in a stoneware mug. " * 5)
    message = render(long, ada)
    assert not message.products  # the link went first
    assert len(message.body) <= 160 and message.body.endswith("Reply STOP to opt out")
    longer = variant(camp, subject="", preheader="", body="Warm tea in a stoneware mug. " * 8)
    message = render(longer, ada)
    assert len(message.body) <= 160 and "…" in message.body and message.body.endswith("Reply STOP to opt out")


def test_email_html_has_button_calls_to_action_in_a_narrow_column() -> None:
    camp = campaign(landing_url="https://shop.example.com/autumn?ref=nl&x=1")
    mug = product(title="Mug & saucer")
    camp.products.set([mug])
    message = render(variant(camp, body="Our mugs are back."), subscriber(name="Grace Hopper"))
    url = html_lib.escape(message.products[0].url)
    assert "Mug &amp; saucer</p>" in message.html
    assert re.search(rf'<a href="{re.escape(url)}" data-button="1" style="display:inline-block;[^"]*">'
                     rf"{PRODUCT_CTA_LABEL}</a>", message.html)
    assert "max-width:600px;" in message.html and 'name="viewport"' in message.html
    unsubscribe = message.body.rsplit("Unsubscribe: ", 1)[1]
    assert f'href="{html_lib.escape(unsubscribe)}" style="color:#555555' in message.html  # a plain link
    camp.products.set([])
    landing = render(variant(camp, label="B", body="Our mugs are back."), subscriber(name="Ada"))
    assert not landing.products
    landing_url = next(line for line in landing.body.split("\n") if line.startswith(f"{CTA_LABEL}: ")).split(": ")[1]
    assert landing_url.startswith("https://shop.example.com/autumn?")
    assert re.search(rf'<a href="{re.escape(html_lib.escape(landing_url))}" data-button="1"[^>]*>{CTA_LABEL}</a>',
                     landing.html)
