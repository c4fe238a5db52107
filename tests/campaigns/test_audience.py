"""Audience: consent and unsubscribes, segments, every filter, and clear errors for bad filters."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from campaigns.audience import (
    AudienceError,
    audience_queryset,
    audience_sample,
    audience_size,
    validate_audience_filters,
)
from catalog.models import ModelRole
from customers.models import Customer, EventType
from tests.catalog.builders import model_version, product
from tests.customers.builders import customer, event, prediction, profile, segment

from .builders import campaign, subscriber

pytestmark = pytest.mark.django_db


def ids(camp: Any) -> set[str]:
    return set(audience_queryset(camp).values_list("external_id", flat=True))


def unsubscribe(cust: Customer, when: Any) -> None:
    event(cust, EventType.UNSUBSCRIBE, occurred_at=when)


def test_only_consenting_subscribed_reachable_customers() -> None:
    now = timezone.now() + timedelta(hours=1)  # after every sign-up below
    yes = subscriber(external_id="yes")
    customer(external_id="no-consent")
    subscriber(external_id="no-email", email="")
    gone = subscriber(external_id="unsubscribed")
    unsubscribe(gone, now)
    consented_again = (now + timedelta(days=1)).isoformat()
    back = subscriber(external_id="came-back", attributes={"marketing_consent_at": consented_again})
    unsubscribe(back, now)  # unsubscribed before consenting again
    old = subscriber(external_id="old-unsub", attributes={"marketing_consent_at": "not a date"})
    unsubscribe(old, now)  # an unreadable consent date falls back to sign-up: still unsubscribed
    camp = campaign()
    assert ids(camp) == {"yes", "came-back"}
    assert audience_size(camp) == 2
    assert [c.pk for c in audience_sample(camp, 1)] == [yes.pk]


def test_sms_needs_a_phone_and_push_needs_nothing_more() -> None:
    subscriber(external_id="phone", attributes={"phone": "+447700900002"})
    subscriber(external_id="blank-phone", attributes={"phone": ""})
    subscriber(external_id="no-phone", email="")
    assert ids(campaign(channel="sms")) == {"phone"}
    assert ids(campaign(channel="push")) == {"phone", "blank-phone", "no-phone"}


def test_segments_match_lifecycle_or_behaviour_membership() -> None:
    at_risk = segment(key="lifecycle-at-risk", kind="lifecycle", name="At risk")
    tea, other = segment(key="tea-lovers", name="Tea lovers"), segment(key="gamers", name="Gamers")
    a, b, c = subscriber(external_id="a"), subscriber(external_id="b"), subscriber(external_id="c")
    subscriber(external_id="no-profile")
    profile(a, lifecycle_segment=at_risk)
    profile(b, behaviour_segment=tea)
    profile(c, behaviour_segment=other)
    camp = campaign()
    assert ids(camp) == {"a", "b", "c", "no-profile"}  # no segment: everyone who consents
    camp.segments.set([at_risk, tea])
    assert ids(camp) == {"a", "b"}


def test_each_filter() -> None:
    version = model_version(role=ModelRole.PURCHASE_30D)
    a = subscriber(external_id="a", locale="en-GB", attributes={"country": "gb"})
    b = subscriber(external_id="b", locale="fr", attributes={"country": "FR"})
    subscriber(external_id="c", locale="en")
    profile(a, orders=3, revenue=Decimal("120"), lifecycle="loyal")
    profile(b, orders=1, revenue=Decimal("20"), lifecycle="at_risk")
    prediction(a, "purchase_30d", probability=0.7, model_version=version)
    prediction(b, "purchase_30d", probability=0.2, model_version=version)
    prediction(b, "churn", probability=0.9)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"locale": "en"}, {"a", "c"}),
        ({"locale": ["fr", "en-GB"]}, {"a", "b"}),
        ({"country": "GB"}, {"a"}),
        ({"lifecycle": ["at_risk", "lapsed"]}, {"b"}),
        ({"lifecycle": "prospect"}, {"c"}),  # no profile yet: never bought
        ({"min_orders": 2}, {"a"}),
        ({"max_orders": 1}, {"b", "c"}),
        ({"min_revenue": 50}, {"a"}),
        ({"min_purchase_probability": 0.5}, {"a"}),
        ({"min_churn_risk": 0.8}, {"b"}),
        ({"max_churn_risk": 0.5}, set()),
        ({"locale": "en", "min_orders": 1}, {"a"}),
    ]
    for filters, expected in cases:
        assert ids(campaign(audience_filters=filters)) == expected, filters


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["lifecycle"], "must be a JSON object"),
        ({"planet": "mars"}, "unknown audience filter(s) ['planet']"),
        ({"lifecycle": "sleepy"}, "'lifecycle': unknown value(s) ['sleepy']"),
        ({"lifecycle": []}, "'lifecycle': expected a non-empty string or list"),
        ({"locale": 5}, "'locale': expected a non-empty string or list"),
        ({"country": [""]}, "'country': expected a non-empty string"),
        ({"min_orders": -1}, "'min_orders': expected a whole number >= 0, got -1"),
        ({"min_orders": 1.5}, "'min_orders': expected a whole number"),
        ({"max_orders": True}, "'max_orders': expected a whole number"),
        ({"min_orders": 3, "max_orders": 1}, "min_orders (3) is above max_orders (1)"),
        ({"min_revenue": "lots"}, "'min_revenue': expected a number >= 0"),
        ({"min_purchase_probability": 1.5}, "'min_purchase_probability': expected a number between 0.0 and 1.0"),
        ({"min_churn_risk": -0.1}, "'min_churn_risk': expected a number between"),
        ({"category": ["Sports", 3]}, "'category': expected a non-empty string or list of strings"),
    ],
)
def test_bad_filters_name_the_key_and_value(filters: Any, message: str) -> None:
    with pytest.raises(AudienceError) as caught:
        validate_audience_filters(filters)
    assert message in str(caught.value)
    camp = campaign(audience_filters=filters)
    with pytest.raises(AudienceError):
        audience_size(camp)


def test_category_means_browsed_carted_or_bought_there_or_below() -> None:
    shoe = product(category="Sports > Running > Shoes")
    watch = product(category="sports > running")
    kettle = product(category="Home > Kitchen")
    lookalike = product(category="Sports > Running Club Merch")
    viewer, buyer = subscriber(external_id="viewer"), subscriber(external_id="buyer")
    carter = subscriber(external_id="carter")
    event(viewer, EventType.VIEW, product=shoe)
    event(buyer, EventType.PURCHASE, product=watch, value=Decimal("80"))
    event(carter, EventType.ADD_TO_CART, product=shoe)
    event(subscriber(external_id="cook"), EventType.PURCHASE, product=kettle)
    event(subscriber(external_id="fan"), EventType.VIEW, product=lookalike)
    event(subscriber(external_id="clicker"), EventType.CLICK, product=shoe)  # a message click is not interest
    assert ids(campaign(audience_filters={"category": "Sports > Running"})) == {"viewer", "buyer", "carter"}
    assert ids(campaign(audience_filters={"category": "sports>running>shoes"})) == {"viewer", "carter"}
    assert ids(campaign(audience_filters={"category": ["Home > Kitchen", "Sports > Running > Shoes"]})) == {
        "viewer", "carter", "cook"
    }
    profile(buyer, lifecycle="lapsed")
    profile(viewer, lifecycle="active")
    assert ids(campaign(audience_filters={"category": "Sports > Running", "lifecycle": "lapsed"})) == {"buyer"}


def test_filters_are_normalised() -> None:
    assert validate_audience_filters(None) == {}
    assert validate_audience_filters({"lifecycle": "new", "locale": " en ", "min_orders": 0}) == {
        "lifecycle": ["new"], "locale": ["en"], "min_orders": 0
    }
    assert validate_audience_filters({"category": " Sports>Running "}) == {"category": ["Sports > Running"]}
