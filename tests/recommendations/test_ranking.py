"""Hybrid ranking on a small real shop: sources, fusion, business rules, diversity, cold start, reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ModelVersion
from customers.models import Customer, CustomerProfile, EventType
from recommendations import ranking
from recommendations.diversity import intra_list_similarity, mmr
from recommendations.ranking import Ranker, fuse, recommend_for_customer, similar_products

from .conftest import NOW, Shop, event, vector

ALL_SOURCES = {"content", "als", "item_item", "co_purchase", "popularity", "trending", "recent"}


def skus(result: Any) -> list[str]:
    return [item.product.sku for item in result.items]


def test_training_records_and_activates_a_version(trained_shop: Shop) -> None:
    version: ModelVersion = trained_shop.extra["version"]
    version.refresh_from_db()
    assert version.is_active and version.role == "recommender"
    assert version.params["products"] == 17 and version.params["customers"] == 41
    assert version.params["segments"] == 2
    # 150-odd events: too short to tune, and the version says so
    assert version.params["weights_source"].startswith("default: history too short")
    assert set(version.params["weights"]) >= ALL_SOURCES


def test_every_source_contributes(trained_shop: Shop) -> None:
    result = recommend_for_customer(trained_shop.customers["alice"], k=20, now=NOW)
    seen = set().union(*(item.sources for item in result.items))
    assert seen == ALL_SOURCES
    assert result.personalised and result.fallback == ""
    assert result.model_version == trained_shop.extra["version"]
