"""The demo campaign `make demo` generates copy for, small enough to finish in a few minutes on a CPU."""

from __future__ import annotations

from django.db.models import Count, Q

from campaigns.models import Campaign
from catalog.models import Product
from customers.models import EventType

GENERATED_CAMPAIGN = "[Demo] Win back lapsed runners"
PRODUCT_CATEGORY = "Sports > Running > Shoes"


def prepare_demo_campaign() -> Campaign | None:
    """Give the win-back campaign its product (the most bought running shoe in stock) so generation writes one
    group of two email variants for its audience (lapsed customers who browsed, carted or bought running
    products, set by the seed).

    Returns the campaign when it is a draft without variants, i.e. when copy should be generated; None when
    it is missing or already past that point (a second `make demo` does not regenerate or disturb a review).
    """
    campaign = Campaign.objects.filter(name=GENERATED_CAMPAIGN).first()
    if campaign is None or campaign.status != Campaign.Status.DRAFT or campaign.variants.exists():
        return None
    product = (
        Product.objects.filter(category__startswith=PRODUCT_CATEGORY, is_active=True, in_stock=True)
        .annotate(bought=Count("events", filter=Q(events__type=EventType.PURCHASE)))
        .order_by("-bought", "pk")
        .first()
    )
    if product is not None:
        campaign.products.set([product])
    return campaign
