"""What the drivers of each customer's predictions cost on a 10,000-customer shop, and what the alternative
(rebuilding one customer's features on a page view) would cost: the reason they are stored at scoring time.

The shop is synthetic (every row tagged `DRVSHOP-`, reused on a rerun): customers buy at their own Poisson
rate (gamma-distributed across customers) until they drop out, and view products around their orders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import numpy as np

from .common import Result, median_time

PREFIX = "DRVSHOP-"
CUSTOMERS = 10_000
DAYS = 400
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def build_shop() -> int:
    """Create the shop unless it is there; returns the number of events."""
    from catalog.models import Product
    from customers.models import Customer, Event

    if Customer.objects.filter(external_id__startswith=PREFIX).count() >= CUSTOMERS:
        return Event.objects.filter(external_id__startswith=PREFIX).count()
    rng = np.random.default_rng(7)
    products = Product.objects.bulk_create(
        [Product(sku=f"{PREFIX}{i}", title=f"Product {i}", category=f"Category {i % 12}",
                 price=Decimal("20.00")) for i in range(60)])
    customers = Customer.objects.bulk_create([Customer(external_id=f"{PREFIX}{i}") for i in range(CUSTOMERS)])
    start = NOW - timedelta(days=DAYS)
    events: list[Event] = []
    n = 0
    for c in customers:
        rate = rng.gamma(0.6, 1 / 30)  # orders per day
        alive_until = rng.exponential(300)
        first = rng.uniform(0, DAYS - 1)
        spend = rng.lognormal(3.3, 0.6)
        day = first
        while day < min(DAYS, first + alive_until):
            n += 1
            product = products[int(rng.integers(len(products)))]
            moment = start + timedelta(days=float(day))
            events.append(Event(external_id=f"{PREFIX}v{n}", customer=c, product=product, type="view",
                                occurred_at=moment - timedelta(hours=float(rng.uniform(1, 48)))))
            if day > first or rng.random() < 0.6:  # some start with a view only
                events.append(Event(external_id=f"{PREFIX}o{n}", customer=c, product=product, type="purchase",
                                    order_id=f"{PREFIX}{n}", quantity=1,
                                    value=Decimal(f"{spend * rng.lognormal(0, 0.3):.2f}"), occurred_at=moment))
            day += rng.exponential(1 / max(rate, 1e-3))
        if len(events) > 20_000:
            Event.objects.bulk_create(events, batch_size=5000)
            events = []
    Event.objects.bulk_create(events, batch_size=5000)
    return Event.objects.filter(external_id__startswith=PREFIX).count()


def run() -> list[Result]:
    from catalog.model_versions import active_version
    from customers.predictions import TARGETS, features_at, load_history, train_predictions
    from customers.predictions.drivers import groups_for, occlusion_effects, reference_values
    from customers.predictions.features import matrix, population
    from customers.predictions.serving import load_model

    events = build_shop()
    print(f"shop: {CUSTOMERS} customers, {events} events", flush=True)
    started = datetime.now()
    report = train_predictions(NOW)
    print(f"train_predictions (4 targets, drivers stored): {(datetime.now() - started).total_seconds():.1f} s; "
          f"trained {report.trained}, refused {list(report.refused)}", flush=True)
    results = [Result("load_history, whole shop", "customers", CUSTOMERS, median_time(lambda: load_history(NOW), 3))]
    h = load_history(NOW)
    seen, f = features_at(h, h.now)
    results.append(Result("features_at(now), whole shop", "customers", CUSTOMERS,
                          median_time(lambda: features_at(h, h.now), 3)))
    for name in report.trained:
        model = load_model(active_version(name))  # type: ignore[arg-type]
        assert model is not None
        spec = TARGETS[name]
        rows = population(spec if name != "next_order" else TARGETS["churn"], seen, f)
        if name == "next_order":
            rows = rows[f["orders"][rows] >= 2]
        X, recency = matrix(f, rows, model.features), f["recency_days"][rows]
        reference = reference_values([f[c][rows] for c in model.features])
        groups = groups_for(model.features)
        predicted = model.predict(X, recency)
        results.append(Result(f"{name}: predict", "customers", len(rows),
                              median_time(partial(model.predict, X, recency), 3)))
        results.append(Result(
            f"{name}: drivers (occlusion, {len(groups)} groups)", "customers", len(rows),
            median_time(partial(occlusion_effects, model, X, recency, reference, predicted, groups), 3),
            baseline=f"{name}: predict"))
        results.append(Result(
            f"{name}: drivers of one customer", "customers", 1,
            median_time(partial(occlusion_effects, model, X[:1], recency[:1], reference, predicted[:1], groups), 5)))
    return results


if __name__ == "__main__":  # python -m benchmarks.prediction_drivers (DATABASE_URL set, migrated)
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    django.setup()
    from .common import report as table

    print(table(run()))
