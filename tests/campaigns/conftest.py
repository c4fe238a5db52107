"""Admin fixtures for the campaign tests: a campaign manager's, an analyst's and a group-less user's browser
session, and a campaign in review with three variants to review."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.models import Campaign, Variant
from catalog.models import Product
from tests.catalog.builders import product

from .builders import GENERATION_TRACE, campaign, subscriber, variant


@pytest.fixture
def mug() -> Product:
    return product(sku="MUG-1", title="Stoneware mug", category="Home > Mugs", price=Decimal("18"))


@pytest.fixture
def in_review(mug: Product) -> Campaign:
    """An in-review email campaign: A approved, B in review, C flagged by a guardrail; two subscribers."""
    camp = campaign(name="Autumn mugs", status=Campaign.Status.IN_REVIEW, landing_url="https://shop.example.com/autumn")
    camp.products.add(mug)
    for label, fields in (
        ("A", {"status": Variant.Status.APPROVED}),
        ("B", {}),
        ("C", {"status": Variant.Status.FLAGGED, "body": "Call 555-0101 for 50% off!", "guardrails": [
            {"check": "length", "passed": True, "detail": ""},
            {"check": "unsupported_discount", "passed": False, "detail": "50% is not in the brief or offer"},
        ]}),
    ):
        variant(camp, label=label, subject=f"Your next favourite mug ({label})", product=mug,
                **{**GENERATION_TRACE, **fields})
    subscriber(name="Ada Lovelace")
    subscriber(name="Alan Turing")
    return camp
