"""A shop with only view events (issue 13: `train_predictions` crashed with "window shape cannot be larger
than input array shape"): each target is refused with what it needs and what was found, never a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customers.models import Event
from customers.predictions import TARGETS, train_predictions
from jobs.models import JobStatus
from jobs.runner import execute
from tests.customers.test_predictions import START, Shop
from tests.jobs.builders import job as build_job

pytestmark = pytest.mark.django_db


def views_only_shop() -> None:
    shop = Shop()
    for i in range(120):
        for day in range(i % 7, 200, 9):
            shop.view(f"v{i}", day, product=i % 4)
    shop.save()


def test_a_shop_without_purchases_gets_a_refusal_per_target() -> None:
    views_only_shop()
    report = train_predictions()
    assert report.trained == []
    assert set(report.refused) == set(TARGETS)
    for name, reason in report.refused.items():
        assert "needs purchases; found 0" in reason, (name, reason)


def test_the_job_succeeds_and_reports_the_refusals() -> None:
    views_only_shop()
    job = build_job(kind="train_predictions", params={"now": (START + timedelta(days=200)).date().isoformat()})
    assert execute(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.counts["refused"] == len(TARGETS) and job.counts["trained"] == 0


def test_an_estimator_that_cannot_fit_is_a_refusal_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from customers.predictions import training
    from tests.customers.test_predictions import periodic_shop

    periodic_shop()

    def window_error(*args: object, **kwargs: object) -> None:
        raise ValueError("window shape cannot be larger than input array shape")

    monkeypatch.setattr(training, "fit_served", window_error)
    report = train_predictions(START + timedelta(days=240), ["purchase_30d"])
    assert report.trained == [] and "could not be fitted on this history" in report.refused["purchase_30d"]


def test_a_shop_with_only_orders_trains_every_target() -> None:
    """No views at all: `days_since_last_view` is missing for every customer, a column HistGradientBoosting
    cannot bin ("window shape ..."); it is fitted as a constant instead of refusing the shop."""
    from tests.customers.test_predictions import periodic_shop

    shop = periodic_shop()
    shop.events = [e for e in shop.events if e.type == "purchase"]
    Event.objects.all().delete()
    shop.save()
    assert not Event.objects.exclude(type="purchase").exists()
    report = train_predictions(START + timedelta(days=240))
    assert report.refused == {}
    assert set(report.trained) == set(TARGETS)
