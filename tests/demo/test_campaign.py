"""The demo campaign `make demo` generates copy for: its product, and no second generation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from campaigns.audience import audience_queryset, consenting
from campaigns.models import Campaign, Variant
from customers.models import CustomerProfile, Event, EventType, Lifecycle
from customers.profiles import rebuild_profiles
from demo.campaign import GENERATED_CAMPAIGN, PRODUCT_CATEGORY, prepare_demo_campaign
from demo.seed import SeedOptions, seed_shop
from tests.campaigns.builders import variant
from tests.vectors import fake_embed

pytestmark = pytest.mark.django_db


def _seed() -> None:
    seed_shop(SeedOptions(seed=42, anchor=date(2025, 6, 30), products=60, customers=200, events=4000, reviews=300))


def test_demo_campaign_gets_a_running_shoe_and_its_brief_rules() -> None:
    _seed()
    campaign = prepare_demo_campaign()
    assert campaign is not None and campaign.name == GENERATED_CAMPAIGN
    products = list(campaign.products.all())
    assert len(products) == 1 and products[0].category.startswith(PRODUCT_CATEGORY)
    assert products[0].is_active and products[0].in_stock
    assert campaign.offer and "Unsubscribe" in campaign.required_text
    assert campaign.audience_filters == {"lifecycle": ["lapsed"], "category": ["Sports > Running"]}
    assert campaign.variants_per_group == 2


def test_demo_campaign_is_left_alone_once_it_has_copy_or_moved_on() -> None:
    _seed()
    campaign = prepare_demo_campaign()
    assert campaign is not None
    variant(campaign, label="A", body="Hand-written copy.")
    assert prepare_demo_campaign() is None
    Variant.objects.filter(campaign=campaign).delete()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.IN_REVIEW)
    assert prepare_demo_campaign() is None


def test_no_demo_campaign_without_the_seed() -> None:
    assert prepare_demo_campaign() is None


def test_demo_campaign_reaches_lapsed_runners_not_every_lapsed_customer() -> None:
    _seed()
    rebuild_profiles(now=datetime(2025, 6, 30, 12, tzinfo=UTC), embed_texts=fake_embed)
    campaign = Campaign.objects.get(name=GENERATED_CAMPAIGN)
    audience = list(audience_queryset(campaign).values_list("pk", flat=True))
    lapsed = set(
        consenting().filter(profile__lifecycle=Lifecycle.LAPSED).exclude(email="").values_list("pk", flat=True)
    )
    runners = set(
        Event.objects.filter(
            type__in=[EventType.VIEW, EventType.ADD_TO_CART, EventType.PURCHASE],
            product__category__startswith="Sports > Running",
        ).values_list("customer_id", flat=True)
    )
    assert audience, "the demo shop has lapsed runners"
    assert set(audience) == lapsed & runners
    assert len(audience) < len(lapsed)
    stages = set(CustomerProfile.objects.filter(customer_id__in=audience).values_list("lifecycle", flat=True))
    assert stages == {Lifecycle.LAPSED}
