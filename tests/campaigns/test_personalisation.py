"""Send-time personalisation: names, products and tracked links, required text, channel limits."""

from __future__ import annotations

import html as html_lib
from urllib.parse import parse_qs, urlsplit

import pytest

from campaigns.personalisation import CTA_LABEL, PRODUCT_CTA_LABEL, button, first_name, render
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
    assert copy.endswith("Reply STOP to unsubscribe.") and message.body.count("Reply STOP") == 1
    # the token is signed with a timestamp, so compare what it names, not its text (a second may pass)
    assert link.startswith(unsubscribe_url(None).rsplit("/", 2)[0] + "/") and f'<a href="{link}">' in message.html
    assert read_token(link.rstrip("/").rsplit("/", 1)[-1]).customer_id == grace.pk
    assert [p.title for p in message.products] == ["Mug 0", "Mug 1", "Mug 2"]  # at most three
    query = parse_qs(urlsplit(message.products[0].url).query)
    assert query["ref"] == ["nl"] and query["product"] == [mugs[0].sku]
    assert query["ecm_campaign"] == [str(camp.pk)] and query["ecm_message"] == ["42"]
    assert query["utm_medium"] == ["email"] and query["utm_content"] == ["A"]
    assert '<a href="https://shop.example.com/autumn' in message.html


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
    assert f"<strong>Mug &amp; saucer</strong><br>{button(url, PRODUCT_CTA_LABEL)}" in message.html
    assert 'style="max-width:600px;' in message.html and 'name="viewport"' in message.html
    unsubscribe = message.body.rsplit("Unsubscribe: ", 1)[1]
    assert f'<a href="{html_lib.escape(unsubscribe)}">' in message.html  # a plain link, not a button
    camp.products.set([])
    landing = render(variant(camp, label="B", body="Our mugs are back."), subscriber(name="Ada"))
    assert not landing.products
    landing_url = landing.body.split("\n\n")[-3]
    assert landing_url.startswith("https://shop.example.com/autumn?")
    assert button(html_lib.escape(landing_url), CTA_LABEL) in landing.html
