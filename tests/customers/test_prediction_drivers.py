"""Drivers of each customer's predictions (occlusion of feature groups against the shop's median customer), in
words, and the admin pages that show them: the customer page and the model version page with its deciles."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer, CustomerPrediction
from customers.predictions import FEATURES, train_predictions
from customers.predictions.drivers import (
    FEATURE_TEXT,
    GROUPS,
    describe,
    groups_for,
    reference_values,
    top_drivers,
)
from tests.catalog.builders import model_version, product
from tests.customers.builders import customer, event, prediction, profile
from tests.customers.test_predictions import NOW, periodic_shop

pytestmark = pytest.mark.django_db

CURRENCY = settings.DEFAULT_CURRENCY


def test_every_feature_has_words_and_one_group() -> None:
    assert set(FEATURE_TEXT) == set(FEATURES)
    members = [f for grouped, _ in GROUPS.values() for f in grouped]
    assert sorted(members) == sorted(FEATURES)  # each feature in exactly one group
    assert all(set(shown) <= set(grouped) for grouped, shown in GROUPS.values())
    # a feature the groups do not know (added later) stands alone rather than being lost
    assert [g.name for g in groups_for(["orders_90d", "new_feature"])] == ["recent_orders", "new_feature"]


def test_reference_is_the_median_customer_and_missing_when_most_have_none() -> None:
    ref = reference_values([np.array([0.0, 1.0, 5.0]), np.array([np.nan, np.nan, 3.0]), np.array([np.nan, 2.0, 4.0])])
    assert ref[0] == 1.0 and np.isnan(ref[1]) and ref[2] == 3.0


def test_top_drivers_keep_three_to_five_and_drop_negligible_ones() -> None:
    features = list(FEATURES)
    groups = groups_for(features)
    values = np.zeros(len(features))
    reference = np.ones(len(features))
    effects = np.array([0.30, -0.20, 0.10, 0.05, 0.02, 0.001, 0.0, 0.0, 0.0])
    drivers = top_drivers(effects, values, reference, features, groups)
    assert [d["group"] for d in drivers] == [g.name for g in groups[:4]]  # 0.02 < 10% of 0.30 after the third
    assert [d["effect"] for d in drivers] == [0.3, -0.2, 0.1, 0.05]
    assert drivers[0]["shown"] == [["orders_90d", 0.0, 1.0], ["revenue_90d", 0.0, 1.0]]


def test_describe_reads_as_a_sentence_in_the_readers_units() -> None:
    recent = {"group": "recent_orders", "effect": 0.12, "shown": [["orders_90d", 4.0, 1.0], ["revenue_90d", 80.5, 0.0]]}
    assert describe("purchase_30d", recent, "EUR") == (
        "ordered 4 times in the last 90 days (shop median 1), spent 80.50 EUR in the last 90 days "
        "(shop median 0.00 EUR) → raises purchase probability by 12 points"
    )
    gaps = {"group": "rhythm", "effect": -4.2, "shown": [["gap_median", None, 11.2], ["gap_last", None, 11.0]]}
    assert describe("next_order", gaps, "EUR") == (
        "no repeat order yet (shop median 11 days) → brings the next order sooner by 4 days"
    )
    unknown_median = {"group": "rhythm", "effect": 0.13, "shown": [["gap_median", 3.0, None]]}
    assert describe("purchase_30d", unknown_median, "EUR") == (
        "typically 3 days between orders (most customers: no repeat order yet) → raises purchase probability by "
        "13 points"
    )
    value = {"group": "recency", "effect": -88.54, "shown": [["recency_days", 74.2, 68.0]]}
    assert describe("value_90d", value, "EUR") == (
        "last order 74 days ago (shop median 68 days) → lowers expected 90-day value by 88.54 EUR"
    )


def _drivers(shop_customer: Customer, target: str) -> list[dict[str, Any]]:
    return list(CustomerPrediction.objects.get(customer=shop_customer, target=target).drivers)


def test_drivers_of_a_trained_shop_point_the_right_way() -> None:
    shop = periodic_shop()
    report = train_predictions(NOW)
    assert report.trained == ["purchase_30d", "churn", "value_90d", "next_order"], report.refused
    weekly, lapsed = shop.customers["weekly-2"], shop.customers["lapsed-0"]

    # A weekly buyer (13 orders in the last 90 days, the median customer 0): recent orders raise the purchase
    # probability and lower the churn risk, and every top driver of the purchase probability raises it.
    purchase = _drivers(weekly, "purchase_30d")
    assert 3 <= len(purchase) <= 5 or all(d["effect"] > 0 for d in purchase)
    by_group = {d["group"]: d for d in purchase}
    assert by_group["recent_orders"]["effect"] > 0
    orders_90d = dict((f, (v, r)) for f, v, r in by_group["recent_orders"]["shown"])["orders_90d"]
    assert orders_90d[0] >= 10 > orders_90d[1]
    assert all(d["effect"] > 0 for d in purchase)
    assert {d["group"]: d["effect"] for d in _drivers(weekly, "churn")}["recent_orders"] < 0
    assert "raises purchase probability" in describe("purchase_30d", by_group["recent_orders"], CURRENCY)

    # A buyer who stopped 2+ months ago, after ordering every 8-14 days: the wait since the last order is the
    # first driver, raising churn risk and lowering the purchase probability.
    churn = _drivers(lapsed, "churn")
    assert churn[0]["group"] == "recency" and churn[0]["effect"] > 0.2
    assert _drivers(lapsed, "purchase_30d")[0]["group"] == "recency"
    assert _drivers(lapsed, "purchase_30d")[0]["effect"] < 0

    # Sizes are in the target's units: the value drivers are in currency, the next order's in days.
    assert all(np.isfinite(d["effect"]) for p in CustomerPrediction.objects.all() for d in p.drivers)
    once = CustomerPrediction.objects.get(customer=shop.customers["once-0"], target="next_order")
    assert once.drivers == []  # one order: the shop's median gap, no model, nothing drove it


def _customer_page(client: Client, c: Customer) -> str:
    response = client.get(reverse("admin:customers_customer_change", args=[c.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _predictions(c: Customer) -> None:
    moment = NOW + timedelta(days=8)
    prediction(c, "purchase_30d", probability=0.617, drivers=[
        {"group": "recent_orders", "effect": 0.12, "shown": [["orders_90d", 4.0, 1.0]]}])
    prediction(c, "churn", probability=0.004, drivers=[])
    prediction(c, "value_90d", value=339.5, drivers=[
        {"group": "recency", "effect": -13.6, "shown": [["recency_days", 2.2, 68.0]]}])
    prediction(c, "next_order", value=61.7, predicted_at=moment, drivers=[
        {"group": "rhythm", "effect": -2.0, "shown": [["gap_median", 7.1, 11.2]]}])


def test_customer_page_shows_predictions_in_the_readers_units(manager_web: Client) -> None:
    c = customer()
    _predictions(c)
    page = _customer_page(manager_web, c)
    assert "62%" in page and "0.4%" in page and f"339.50 {CURRENCY}" in page
    assert f"{NOW + timedelta(days=8):%Y-%m-%d}" in page and "62 days after the last order" in page
    assert "61.70" not in page  # the next order is a date, not a number of days
    assert "ordered 4 times in the last 90 days (shop median 1) → raises purchase probability by 12 points" in page
    assert "typically 7 days between orders (shop median 11 days) → brings the next order sooner by 2 days" in page
    assert "like the shop&#x27;s median customer" in page  # churn: no drivers stored
    version = CustomerPrediction.objects.get(customer=c, target="value_90d").model_version
    assert reverse("admin:catalog_modelversion_change", args=[version.pk]) in page
    assert page.index("Purchase in the next 30 days") < page.index("Churn risk") < page.index("Expected next order")


def test_customer_page_queries_do_not_grow_with_events(manager_web: Client) -> None:
    item = product()
    few, many = customer(), customer()
    for c, n in ((few, 3), (many, 80)):
        _predictions(c)
        for i in range(n):
            event(c, "purchase" if i % 4 == 0 else "view", product=item, days_ago=i / 2, order_id=f"o{c.pk}-{i}")
    _customer_page(manager_web, few)  # warm the session and the content types
    counts = []
    for c in (few, many):
        with CaptureQueriesContext(connection) as queries:
            page = _customer_page(manager_web, c)
        counts.append(len(queries))
        assert "Expected value over 90 days" in page
    assert counts[0] == counts[1] <= 12, counts  # 8 here: session, user, customer, profile, predictions...
    assert "Events (80)" in page  # one page of them: tests/customers/test_customer_page.py


def _version_page(client: Client, **fields: Any) -> str:
    version = model_version(**fields)
    response = client.get(reverse("admin:catalog_modelversion_change", args=[version.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_model_version_page_draws_the_deciles_and_metrics_beside_baselines(manager_web: Client) -> None:
    deciles = [{"decile": d, "n": 100, "mean_predicted": 10.0 * d, "mean_actual": 9.0 * d + 3} for d in range(1, 11)]
    page = _version_page(manager_web, role="value_90d", metrics={
        "deciles": deciles, "rmse": 120.5, "baseline_rmse_mean": 150.0, "baseline_rmse_zero": 110.0,
        "mae": 40.0, "baseline_mae_mean": 55.0, "spearman": 0.41, "buy_auc": 0.8, "buy_brier": 0.1,
        "buy_baseline_brier": 0.12,
    })
    start = page.index('<svg xmlns="http://www.w3.org/2000/svg" width="720"')
    svg = page[start:page.index("</svg>", start)]
    assert len(re.findall("<rect", svg)) == 20 + 2  # two bars per decile and the legend
    assert f"decile 10 (100 customers): mean predicted 100.00 {CURRENCY}" in svg
    assert "<script" not in svg
    assert "90-day value: mean predicted vs mean actual per decile" in page
    quality = page[page.lower().index("validation metrics vs baselines"):]
    assert re.search(r"rmse \(lower is better\)</th><td>120.5</td><td>mean 150 ✓, zero 110 ✗", quality)
    assert "P(order): brier (lower is better)</th><td>0.1</td><td>baseline 0.12 ✓" in quality


def test_model_version_page_falls_back_to_the_calibration_table(manager_web: Client) -> None:
    calibration = [{"decile": d, "n": 50, "mean_predicted": d / 20, "observed": d / 22} for d in range(1, 11)]
    page = _version_page(manager_web, role="purchase_30d", metrics={
        "calibration": calibration, "auc": 0.81, "baseline_auc": 0.7, "brier": 0.11, "baseline_brier": 0.15})
    assert "P(order in 30 days): mean predicted vs mean actual" in page
    assert "decile 10 (50 customers): mean actual 45%" in page
    assert "auc</th><td>0.81</td><td>baseline 0.7 ✓" in page
    older = _version_page(manager_web, role="next_order", metrics={"mae_days": 9.5})
    assert "No decile table for this version." in older and "role=\"img\"" not in older


def test_profile_api_returns_the_drivers(manager_client: Any) -> None:
    c = customer()
    profile(c)
    _predictions(c)
    response = manager_client.get(f"/api/v1/customers/{c.pk}/profile/")
    assert response.status_code == 200, response.content
    by_target = {p["target"]: p for p in response.json()["predictions"]}
    assert by_target["purchase_30d"]["drivers"] == [
        {"group": "recent_orders", "effect": 0.12, "shown": [["orders_90d", 4.0, 1.0]]}]
    assert by_target["churn"]["drivers"] == []


def test_predictions_overview_shows_each_serving_version_and_the_customers(manager_web: Client) -> None:
    deciles = [{"decile": d, "n": 10, "mean_predicted": d / 10, "mean_actual": d / 11} for d in range(1, 11)]
    serving = model_version(role="purchase_30d", name="purchase-serving", is_active=True,
                            metrics={"deciles": deciles, "auc": 0.8, "baseline_auc": 0.7})
    model_version(role="purchase_30d", name="purchase-older", metrics={"auc": 0.6})
    c = customer(external_id="overview-1")
    prediction(c, "purchase_30d", model_version=serving, probability=0.42, drivers=[
        {"group": "recent_orders", "effect": 0.12, "shown": [["orders_90d", 4.0, 1.0]]}])
    prediction(c, "next_order", value=20.0, predicted_at=NOW)
    url = reverse("admin:customers_customerprediction_changelist")
    page = manager_web.get(url).content.decode()
    assert "purchase-serving" in page and "purchase-older" not in page
    assert "P(order in 30 days): mean predicted vs mean actual per decile" in page
    assert "auc</th><td>0.8</td><td>baseline 0.7 ✓" in page
    assert "42%" in page and "ordered 4 times in the last 90 days (shop median 1) → raises" in page
    assert f"{NOW:%Y-%m-%d} (20 days after the last order)" in page
    assert manager_web.get(url, {"target": "next_order", "o": "3"}).status_code == 200
    row = CustomerPrediction.objects.get(customer=c, target="purchase_30d")
    change = manager_web.get(reverse("admin:customers_customerprediction_change", args=[row.pk])).content.decode()
    assert "<li>ordered 4 times in the last 90 days" in change
