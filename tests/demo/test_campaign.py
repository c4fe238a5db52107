"""The demo campaign `make demo` generates copy for: its product, and no second generation."""

from __future__ import annotations

from datetime import date

import pytest

from campaigns.models import Campaign, Variant
from demo.campaign import GENERATED_CAMPAIGN, PRODUCT_CATEGORY, prepare_demo_campaign
from demo.seed import SeedOptions, seed_shop
from tests.campaigns.builders import variant

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
    assert campaign.audience_filters == {"lifecycle": ["at_risk", "lapsed"]}
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
