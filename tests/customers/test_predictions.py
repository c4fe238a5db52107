"""Per-customer predictions on a small hand-made history: features, time split, training, refusals, storage,
the job and the command."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import joblib
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from catalog.models import ModelVersion
from customers.management.commands.train_predictions import Command as TrainPredictions
from customers.models import Customer, CustomerPrediction, Event
from customers.predictions import (
    FEATURES,
    TARGETS,
    ServedModel,
    default_now,
    features_at,
    load_history,
    plan_windows,
    to_days,
    train_predictions,
)
from customers.predictions.estimators import ServedModel as EstimatorsServedModel
from customers.predictions.serving import load_model
from jobs.models import JobStatus
from jobs.runner import execute, registered_kinds, start_job
from tests.catalog.builders import product
from tests.customers.builders import customer
from tests.jobs.builders import job as build_job

pytestmark = pytest.mark.django_db

START = datetime(2024, 1, 1, tzinfo=UTC)
HISTORY_DAYS = 240
NOW = START + timedelta(days=HISTORY_DAYS)


class Shop:
    """Builds events: `order(customer, day, value)` and `view(customer, day)`, flushed in one bulk insert."""

    def __init__(self) -> None:
        self.products = [
            product(sku=f"P{i}", title=f"Product {i}", category=("Mugs" if i % 2 else "Tea")) for i in range(4)
        ]
        self.events: list[Event] = []
        self.customers: dict[str, Customer] = {}

    def customer(self, key: str) -> Customer:
        if key not in self.customers:
            self.customers[key] = customer(external_id=key)
        return self.customers[key]

    def _event(self, key: str, day: float, type_: str, **fields: object) -> None:
        n = len(self.events)
        self.events.append(Event(external_id=f"e{n}", customer=self.customer(key), type=type_,
                                 occurred_at=START + timedelta(days=day), **fields))

    def order(self, key: str, day: float, value: float, product: int = 0) -> None:
        self._event(key, day, "purchase", order_id=f"o{len(self.events)}", value=Decimal(str(value)),
                    quantity=1, product=self.products[product])

    def view(self, key: str, day: float, product: int = 1) -> None:
        self._event(key, day, "view", product=self.products[product])

    def cart(self, key: str, day: float) -> None:
        self._event(key, day, "add_to_cart", product=self.products[2])

    def save(self) -> None:
        Event.objects.bulk_create(self.events)


def periodic_shop(days: int = HISTORY_DAYS, seed: int = 7) -> Shop:
    """Weekly and monthly buyers who keep buying, buyers who lapse at known days, one-off buyers and
    browsers who never buy: every target has both outcomes at every cutoff."""
    rng = random.Random(seed)
    shop = Shop()
    for i in range(15):
        day = rng.uniform(0, 7)
        while day < days:
            shop.order(f"weekly-{i}", day, 20 + rng.uniform(0, 10), product=i % 4)
            shop.view(f"weekly-{i}", max(0, day - 0.5))
            day += rng.uniform(5, 9)
    for i in range(15):
        day = rng.uniform(0, 30)
        while day < days:
            shop.order(f"monthly-{i}", day, 50 + rng.uniform(0, 20))
            day += rng.uniform(25, 35)
    for i in range(25):
        stop = rng.uniform(35, days - 60)
        day = rng.uniform(0, 10)
        while day < stop:
            shop.order(f"lapsed-{i}", day, 30)
            shop.view(f"lapsed-{i}", day + 1)
            day += rng.uniform(8, 14)
    for i in range(15):
        shop.order(f"once-{i}", rng.uniform(0, days - 5), 15)
    for i in range(20):
        for _ in range(rng.randint(1, 6)):
            day = rng.uniform(0, days - 1)
            shop.view(f"browser-{i}", day)
            if rng.random() < 0.3:
                shop.cart(f"browser-{i}", day)
    shop.save()
    return shop


def test_features_are_hand_checked() -> None:
    shop = Shop()
    shop.order("a", 0, 10)
    shop.order("a", 10, 20, product=1)
    shop.order("a", 30, 30)
    shop.view("a", 25, product=2)
    shop.view("a", 35, product=3)
    shop.cart("a", 36)
    shop.view("b", 5)
    shop.view("b", 41)  # after the cutoff: not counted
    shop.save()
    history = load_history(START + timedelta(days=50))
    seen, f = features_at(history, to_days(START + timedelta(days=40)))
    a = int(np.searchsorted(history.customer_pks, shop.customers["a"].pk))
    b = int(np.searchsorted(history.customer_pks, shop.customers["b"].pk))
    assert seen[a] and seen[b]
    expected_a = {
        # windows include their first day: day 10 is within the 30 days before day 40
        "orders": 3, "revenue": 60, "avg_order_value": 20, "recency_days": 10, "first_order_age_days": 40,
        "orders_30d": 2, "orders_90d": 3, "revenue_90d": 60, "gap_mean": 15, "gap_median": 15, "gap_std": 5,
        "gap_last": 20, "tenure_days": 40, "days_since_last_event": 4, "days_since_last_view": 5,
        "views_7d": 1, "views_30d": 2, "carts_7d": 1, "distinct_products": 4, "distinct_categories": 2,
        "active_days_30d": 5, "overdue_ratio": 10 / 15,
    }
    for name, value in expected_a.items():
        assert f[name][a] == pytest.approx(value), name
    assert f["orders"][b] == 0 and np.isnan(f["recency_days"][b]) and np.isnan(f["gap_mean"][b])
    assert f["views_90d"][b] == 1 and f["tenure_days"][b] == pytest.approx(35)
    assert set(f) == set(FEATURES)


def test_orders_without_an_order_id_are_grouped_by_day() -> None:
    shop = Shop()
    customer = shop.customer("c")
    Event.objects.bulk_create([
        Event(external_id=f"x{i}", customer=customer, type="purchase", value=Decimal("5"),
              occurred_at=START + timedelta(days=day, hours=i)) for i, day in enumerate((1, 1, 3))
    ])
    history = load_history(START + timedelta(days=10))
    _, f = features_at(history, to_days(START + timedelta(days=10)))
    assert f["orders"][0] == 2 and f["revenue"][0] == 15


def test_trains_every_target_and_stores_ordered_predictions() -> None:
    shop = periodic_shop()
    report = train_predictions(NOW)
    assert report.trained == list(TARGETS), report.refused
    for outcome in report.outcomes:
        version = ModelVersion.objects.get(name=outcome.version)
        assert version.is_active and version.role == outcome.target
        assert version.params["validation_cutoff"] and version.params["n_train"] > 0
        assert outcome.metrics["validation"] == "later window"
        assert outcome.scored > 0
        assert CustomerPrediction.objects.filter(target=outcome.target, model_version=version).count() == outcome.scored
    purchase = report.outcomes[0].metrics
    for key in ("auc", "brier", "log_loss", "calibration", "baseline_brier"):
        assert key in purchase
    assert 0.5 < purchase["auc"] <= 1 and len(purchase["calibration"]) == 10
    # the buy-till-you-die features were fitted (this shop has enough repeat buyers and lapsed ones)
    _, features = features_at(load_history(NOW), to_days(NOW))
    weekly_row = int(np.searchsorted(load_history(NOW).customer_pks, shop.customers["weekly-0"].pk))
    assert features["bgnbd_p_alive"][weekly_row] > 0.5 and features["bgnbd_purchases_30d"][weekly_row] > 1
    value = report.outcomes[2].metrics
    for metric in ("mae", "rmse", "normalised_gini", "spearman"):
        assert metric in value and all(f"baseline_{metric}_{b}" in value for b in ("mean", "last_90d", "bgnbd"))
    assert value["normalised_gini"] > value["baseline_normalised_gini_mean"] == 0
    assert value["baseline_rmse_bgnbd"] is not None and value["bgnbd_covered_share"] > 0.5  # fitted at the cutoff
    assert "Poisson" in report.outcomes[2].params["model"]
    assert "baseline_mae_days_own_median_gap" in report.outcomes[3].metrics
    table = StringIO()
    TrainPredictions(stdout=table)._table(report, calibration=False)
    assert "value normalised Gini" in table.getvalue() and "BG/NBD x Gamma-Gamma" in table.getvalue()
    for outcome in report.outcomes:  # the admin's decile chart: predicted vs actual, lowest decile first
        deciles = outcome.metrics["deciles"]
        assert [d["decile"] for d in deciles] == list(range(1, len(deciles) + 1)) and len(deciles) >= 5
        assert set(deciles[0]) == {"decile", "n", "mean_predicted", "mean_actual"}
        assert deciles[0]["mean_predicted"] <= deciles[-1]["mean_predicted"]

    def pred(key: str, target: str) -> CustomerPrediction:
        return CustomerPrediction.objects.get(customer=shop.customers[key], target=target)

    def number(key: str, target: str) -> float:
        row = pred(key, target)
        result = row.probability if row.probability is not None else row.value
        assert result is not None
        return result

    def date_of(key: str) -> datetime:
        moment = pred(key, "next_order").predicted_at
        assert moment is not None
        return moment

    probabilities = CustomerPrediction.objects.filter(target__in=["purchase_30d", "churn"]).values_list(
        "probability", flat=True)
    assert all(p is not None and 0 <= p <= 1 for p in probabilities)
    weekly, lapsed = "weekly-0", "lapsed-0"
    assert number(weekly, "purchase_30d") > number(lapsed, "purchase_30d")
    assert number(weekly, "churn") < number(lapsed, "churn")
    assert number(weekly, "value_90d") > number(lapsed, "value_90d") >= 0
    # browsers never bought: a purchase probability, no churn risk or next order date
    assert pred("browser-0", "purchase_30d").probability is not None
    assert not CustomerPrediction.objects.filter(customer=shop.customers["browser-0"], target="churn").exists()
    assert NOW <= date_of(weekly) <= NOW + timedelta(days=90)
    assert date_of(weekly) < date_of("monthly-0") + timedelta(days=30)


def test_retraining_replaces_predictions_and_compares_on_the_same_validation() -> None:
    periodic_shop()
    first = train_predictions(NOW, ["purchase_30d"])
    second = train_predictions(NOW, ["purchase_30d"])
    # same data, same seed, same validation rows: the new version does not beat the active one
    assert not second.outcomes[0].activated
    assert second.outcomes[0].serving == first.outcomes[0].version
    assert CustomerPrediction.objects.filter(target="purchase_30d").exclude(
        model_version__name=first.outcomes[0].version).count() == 0


def test_short_history_is_refused_with_what_was_found_and_needed() -> None:
    shop = Shop()
    for i in range(40):
        shop.order(f"c{i}", i % 13, 10)
    shop.save()
    now = START + timedelta(days=13)
    report = train_predictions(now)
    assert report.trained == []
    assert report.refused["purchase_30d"] == (
        "purchase_30d: history spans 13 days (2024-01-01 to 2024-01-13); purchase_30d needs at least 60 days: "
        "30 of features before the cutoff and 30 of outcome after it"
    )
    assert "needs at least 120 days" in report.refused["churn"]
    assert not ModelVersion.objects.exists() and not CustomerPrediction.objects.exists()


def test_one_class_is_refused_per_target() -> None:
    """Everyone buys every week until the end: nobody churns, so churn is refused while purchase_30d
    (browsers never buy) still trains."""
    shop = Shop()
    for i in range(40):
        day = i % 5
        while day < 200:
            shop.order(f"w{i}", day, 10)
            day += 7
    for i in range(20):
        shop.view(f"b{i}", 10 + i * 8)
    shop.save()
    report = train_predictions(START + timedelta(days=200), ["purchase_30d", "churn"])
    assert report.trained == ["purchase_30d"]
    assert "labels have one class" in report.refused["churn"]
    assert "0 did not" in report.refused["churn"] or "0 ordered" in report.refused["churn"]


def test_too_few_customers_is_refused() -> None:
    shop = Shop()
    for i in range(5):
        for day in range(0, 200, 10):
            shop.order(f"c{i}", day + i, 10)
    shop.save()
    report = train_predictions(START + timedelta(days=200), ["purchase_30d"])
    assert "needs at least 30" in report.refused["purchase_30d"]


def test_customer_split_when_history_allows_one_window_only() -> None:
    """160 days: enough for 30 days of features and 90 of outcome, not for a second, later window."""
    periodic_shop(days=160)
    now = START + timedelta(days=160)
    plan = plan_windows(TARGETS["churn"], load_history(now))
    assert plan.mode == "customer split" and plan.train_cutoffs[0] == plan.validation_cutoff
    report = train_predictions(now, ["purchase_30d", "churn"])
    purchase, churn = report.outcomes
    assert purchase.metrics["validation"] == "later window"
    assert churn.status == "trained", churn.message
    assert churn.metrics["validation"] == "customer split" and "optimistic" in churn.metrics["validation_note"]


def test_default_now_is_midnight_after_the_latest_event() -> None:
    shop = Shop()
    shop.view("a", 10.5)
    shop.save()
    assert default_now() == START + timedelta(days=11)


def test_unknown_target_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        train_predictions(NOW, ["lifetime"])


def test_job_kind_runs_and_reports() -> None:
    assert registered_kinds()["train_predictions"].queue == "default"
    periodic_shop()
    job = build_job(kind="train_predictions", params={"now": NOW.isoformat(), "targets": ["churn"]})
    assert execute(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.result["trained"] == ["churn"] and job.counts["scored"] > 0
    assert job.progress_total == job.progress_done == 1
    assert job.counts == {"trained": 1, "refused": 0, "scored": job.result["targets"][0]["scored"]}
    assert ModelVersion.objects.get(role="churn").job_id == job.pk
    with pytest.raises(Exception, match="unknown job kind"):
        start_job("train_prediction", {})


def test_command_prints_metrics_and_refusals() -> None:
    periodic_shop(days=100)
    out = StringIO()
    call_command("train_predictions", "--now", (START + timedelta(days=100)).date().isoformat(),
                 "--targets", "purchase_30d", "churn", "--calibration", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "AUC" in text and "Brier" in text and "decile" in text
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("purchase_30d ") and "later window" in line)
    auc = float(row.split()[6])  # target, status, "later window", n_train, n_valid, AUC
    assert 0 <= auc <= 1
    assert "refused churn: churn: history spans 100 days (2024-01-01 to 2024-04-09); churn needs at least 120" in text
    assert lines[-1] == "trained: purchase_30d; refused: churn"
    with pytest.raises(CommandError, match="not a date"):
        call_command("train_predictions", "--now", "soon", stdout=StringIO())


def test_models_saved_before_the_package_split_still_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Served models pickled as `customers.predictions.ServedModel` (one module then) load from the package."""
    assert ServedModel is EstimatorsServedModel
    folder = tmp_path / "old"
    folder.mkdir()
    with monkeypatch.context() as patch:  # pickle it the way the single module did
        patch.setattr(ServedModel, "__module__", "customers.predictions")
        joblib.dump(ServedModel("churn", list(FEATURES[:3]), 90), folder / "model.joblib")
    saved = (folder / "model.joblib").read_bytes()
    assert b"customers.predictions" in saved and b"customers.predictions.estimators" not in saved
    loaded = load_model(ModelVersion(role="churn", name="old", path=str(folder)))
    assert isinstance(loaded, ServedModel) and loaded.features == FEATURES[:3] and loaded.horizon == 90
