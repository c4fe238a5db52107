"""Discount depth per segment (`campaigns.discounts`) on simulated experiments with known true effects,
written through the real models: the suggestion finds the right depth when effects are large and samples
big, says "not enough evidence" with a sample size when they are small, its intervals cover the truth,
and arms that cannot answer the question get a clear reason."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import requests
import schemathesis
from django.db.models import Model
from django.test import Client, override_settings
from rest_framework.test import APIClient
from schemathesis.core.transport import Response as SchemathesisResponse

from audit.models import AuditAction, AuditEntry
from campaigns.discounts import (
    DiscountError,
    difference_interval,
    discount_suggestions,
    sample_size_for_difference,
    set_discounts,
)
from campaigns.models import Arm, Campaign, Experiment, Variant
from customers.models import CarriedTotals, CustomerProfile, Event, Segment
from tests.api.action_mixins import ReadActionTests
from tests.customers.builders import segment
from tests.jobs.builders import author

from .admin_pages import messages, page
from .builders import campaign, variant
from .discount_simulation import DEPTHS, START, TRUTH, simulate, true_incremental

pytestmark = pytest.mark.django_db


def _segment(result: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in result["segments"] if s["key"] == key)


def test_large_experiment_suggests_the_true_best_depth_per_segment() -> None:
    sim = simulate(per_arm=700)
    result = discount_suggestions(sim.experiment)
    assert result["reference"] == "holdout (no message)"
    assert [d["depth"] for d in result["depths"]] == ["holdout (no message)", "10%", "20%", "30%"]
    lapsed, loyal = _segment(result, "lifecycle-lapsed"), _segment(result, "lifecycle-loyal")
    assert lapsed["n"] == loyal["n"] == 4 * 700
    # lapsed customers: 20% is best (true incremental margin 1.6 per customer; 30% gives 0.7, 10% 0.7)
    assert lapsed["suggestion"]["status"] == "suggested"
    assert lapsed["suggestion"]["discount_percent"] == 20
    assert lapsed["suggestion"]["text"].startswith("Offer 20%")
    # loyal customers buy anyway: every discount only gives margin away
    assert loyal["suggestion"]["status"] == "suggested"
    assert loyal["suggestion"]["depth"] == "holdout (no message)"
    assert loyal["suggestion"]["discount_percent"] is None
    assert loyal["suggestion"]["text"].startswith("No discount pays for itself here")
    rows = {r["depth"]: r for r in lapsed["rows"]}
    assert rows["holdout (no message)"]["is_reference"] and rows["holdout (no message)"]["incremental_margin"] == 0
    assert rows["20%"]["n"] == 700 and rows["20%"]["conversion_ci"][0] < 0.20 < rows["20%"]["conversion_ci"][1]
    # every product has its cost, so no revenue falls back on the default margin
    assert result["gross_margin"]["revenue_with_product_cost"] == pytest.approx(1.0)


def test_intervals_cover_the_true_incremental_margin() -> None:
    """9 intervals at 95% (each stage and everyone, three depths): about 0.45 misses are expected, three or
    more happen about 1% of the time; the pure simulation below checks the nominal coverage itself."""
    sim = simulate(per_arm=700)
    result = discount_suggestions(sim.experiment)
    covered = total = 0
    for key in ("lifecycle-loyal", "lifecycle-lapsed", "all"):
        rows = {r["discount_percent"]: r for r in _segment(result, key)["rows"] if not r["is_reference"]}
        for i, depth in enumerate(DEPTHS[1:], start=1):
            stages = list(TRUTH) if key == "all" else [key.removeprefix("lifecycle-")]
            truth = sum(true_incremental(stage, i) for stage in stages) / len(stages)  # equal-sized stages
            low, high = rows[depth]["incremental_margin_ci"]
            covered += low <= truth <= high
            total += 1
    assert total == 9 and covered >= 7


def test_difference_interval_coverage_on_skewed_margins() -> None:
    """Many zeros and a heavy tail (as margins per customer are): the Welch interval's coverage over 2,000
    simulated experiments of 300 + 300 customers stays near 95%."""
    rng = np.random.default_rng(11)
    truth = 0.12 * 20 * 0.2 - 0.05 * 20 * 0.4  # arm: 12% buy, margin 0.2; reference: 5% buy, margin 0.4
    covered = 0
    reps = 2000
    for _ in range(reps):
        a = (rng.random(300) < 0.12) * rng.lognormal(np.log(20) - 0.5, 1.0, 300) * 0.2
        b = (rng.random(300) < 0.05) * rng.lognormal(np.log(20) - 0.5, 1.0, 300) * 0.4
        _, low, high = difference_interval(a, b, 0.95)
        covered += low <= truth <= high
    assert 0.92 <= covered / reps <= 0.975


def test_small_experiment_says_not_enough_evidence_with_the_sample_needed() -> None:
    sim = simulate(per_arm=25, seed=3)
    result = discount_suggestions(sim.experiment)
    lapsed = _segment(result, "lifecycle-lapsed")
    suggestion = lapsed["suggestion"]
    assert suggestion["status"] == "not_enough_evidence"
    assert suggestion["discount_percent"] is None
    needed = suggestion["sample_needed_per_arm"]
    assert isinstance(needed, int) and needed > 25
    assert suggestion["text"].startswith("Not enough evidence:")
    assert f"about {needed:,} customers per arm are needed" in suggestion["text"]
    assert "this segment has 25 at" in suggestion["text"]


def test_sample_size_matches_the_normal_formula() -> None:
    # (1.96 + 0.8416)^2 * (16 + 4) / 1^2 = 156.98
    assert sample_size_for_difference(16.0, 4.0, 1.0, 0.05, 0.8) == pytest.approx(156.98, abs=0.01)
    assert np.isnan(sample_size_for_difference(16.0, 4.0, 0.0))


def test_margin_subtracts_the_discount_from_the_price_not_from_the_cost() -> None:
    """A 30% discount at a 40% gross margin leaves 10% of list revenue: the margin per customer is
    revenue x 0.7 - cost, not revenue x 0.7 x 0.4."""
    sim = simulate(per_arm=20, seed=5, stages=("loyal",))
    result = discount_suggestions(sim.experiment)
    row = next(r for r in _segment(result, "all")["rows"] if r["discount_percent"] == 30)
    assert row["margin_per_customer"] == pytest.approx(row["revenue_per_customer"] * 0.1, rel=1e-9)


@override_settings(DEFAULT_GROSS_MARGIN_PERCENT=25)
def test_products_without_a_cost_use_the_default_margin() -> None:
    sim = simulate(per_arm=20, seed=5, stages=("loyal",))
    sim.item.attributes = {}
    sim.item.save()
    result = discount_suggestions(sim.experiment)
    assert result["gross_margin"]["revenue_with_product_cost"] == 0
    row = next(r for r in _segment(result, "all")["rows"] if r["discount_percent"] == 10)
    assert row["margin_per_customer"] == pytest.approx(row["revenue_per_customer"] * (0.9 - 0.75), rel=1e-9)


def test_behavioural_segments_count_only_when_fixed_before_the_start() -> None:
    sim = simulate(per_arm=10, seed=6, stages=("loyal",))
    tea = segment(name="Tea & loose leaf", updated_at=START - timedelta(days=3))
    assigned = list(sim.experiment.assignments.values_list("customer_id", flat=True))
    CustomerProfile.objects.bulk_create(
        [CustomerProfile(customer_id=c, behaviour_segment=tea) for c in assigned[:24]]
    )
    result = discount_suggestions(sim.experiment)
    row = _segment(result, tea.key)
    assert (row["name"], row["kind"], row["n"]) == ("Tea & loose leaf", "behavioural", 24)
    assert result["notes"] == []
    Segment.objects.filter(pk=tea.pk).update(updated_at=START + timedelta(days=1))  # rebuilt after the start
    result = discount_suggestions(sim.experiment)
    assert all(s["kind"] != "behavioural" for s in result["segments"])
    assert result["notes"][0].startswith("behavioural segments left out: they were rebuilt after the experiment")


def test_lifecycle_at_assignment_counts_what_retention_carried_over() -> None:
    """Customers whose old purchases retention deleted keep their stage: the carried totals count, and
    purchases after the assignment (the offer's effect) never move anyone."""
    sim = simulate(per_arm=5, seed=8, stages=("lapsed",))
    moved = list(sim.experiment.assignments.order_by("customer_id").values_list("customer_id", flat=True)[:6])
    Event.objects.filter(customer_id__in=moved, occurred_at__lt=START).delete()
    CarriedTotals.objects.bulk_create([
        CarriedTotals(customer_id=c, orders=3, revenue=Decimal("150"), first_order_at=START - timedelta(days=80),
                      last_order_at=START - timedelta(days=20))
        for c in moved
    ])
    result = discount_suggestions(sim.experiment)
    assert _segment(result, "lifecycle-loyal")["n"] == 6
    assert _segment(result, "lifecycle-lapsed")["n"] == 20 - 6


# --- inputs that cannot answer the question ------------------------------------------------------------


def _experiment(*discounts: float | None, holdout: bool = True) -> Experiment:
    camp = campaign(status=Campaign.Status.RUNNING)
    exp = Experiment.objects.create(campaign=camp, holdout_weight=0.2 if holdout else 0)
    if holdout:
        Arm.objects.create(experiment=exp, key="holdout", weight=0.2, is_control=True)
    for percent in discounts:
        v = variant(camp, status=Variant.Status.APPROVED)
        Arm.objects.create(
            experiment=exp, key=v.label, variant=v,
            discount_percent=None if percent is None else Decimal(str(percent)),
        )
    return exp


@pytest.mark.parametrize(
    ("discounts", "holdout", "reason"),
    [
        ((), True, "the experiment has 1 arm(s) (holdout)"),
        ((10,), False, "the experiment has 1 arm(s) (A)"),
        ((None, None), True, "no arm has a discount set"),
        ((10, 10), False, "every arm offers the same discount (10%) and there is no holdout"),
        ((10, 20), False, "no reference to measure the discounts against: the arms offer 10%, 20%"),
        ((0, 0), True, "no arm offers a discount above 0%"),
    ],
)
def test_arms_that_cannot_answer_get_a_clear_reason(
    discounts: tuple[float | None, ...], holdout: bool, reason: str
) -> None:
    with pytest.raises(DiscountError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        discount_suggestions(_experiment(*discounts, holdout=holdout))


def test_a_zero_percent_message_arm_is_the_reference_without_a_holdout() -> None:
    exp = _experiment(0, 15, holdout=False)
    result = discount_suggestions(exp)
    assert result["reference"] == "0%"
    assert _segment(result, "all")["suggestion"]["status"] == "no_data"  # nobody assigned yet


def test_arms_without_a_discount_are_left_out_with_a_note() -> None:
    result = discount_suggestions(_experiment(10, None))
    assert [d["depth"] for d in result["depths"]] == ["holdout (no message)", "10%"]
    assert result["notes"] == ["left out, no discount set: B (set discount_percent on the experiment page)"]


def test_set_discounts_validates_every_arm_first_and_audits_the_change() -> None:
    exp = _experiment(None, None)
    manager = author()
    assert set_discounts(exp, {"A": "12.5", "B": 20}, manager) == {"A": "12.5", "B": "20"}
    entry = AuditEntry.objects.get(action=AuditAction.OTHER, target_id=str(exp.pk))
    assert entry.details == {"discount_percent": {"A": {"from": None, "to": "12.5"}, "B": {"from": None, "to": "20"}}}
    for bad in (-1, 91, "lots", float("nan")):
        with pytest.raises(DiscountError, match=r"arm B: discount_percent="):
            set_discounts(exp, {"A": 30, "B": bad}, manager)
    with pytest.raises(DiscountError, match="arm holdout is the holdout"):
        set_discounts(exp, {"holdout": 10}, manager)
    with pytest.raises(DiscountError, match=r"unknown arm\(s\) Z; the experiment has A, B, holdout"):
        set_discounts(exp, {"Z": 10}, manager)
    assert dict(exp.arms.values_list("key", "discount_percent")) == {
        "A": Decimal("12.5"), "B": Decimal("20.0"), "holdout": None,  # nothing half-written
    }
    assert set_discounts(exp, {"A": "", "holdout": 0}, manager) == {"A": None, "holdout": "0"}


# --- admin page ----------------------------------------------------------------------------------------


def test_discounts_page_shows_the_table_the_evidence_and_a_chart_per_segment(manager_web: Client) -> None:
    sim = simulate(per_arm=60, seed=2)
    response = manager_web.get(page("discounts", sim.experiment.campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Measured against <strong>holdout (no message)</strong>" in html
    for name in ("All customers", "Loyal", "Lapsed"):
        assert f"<h2>{name} <span" in html
    assert "All customers (n = 480)" in html
    assert html.count('aria-label="incremental margin by depth: ') == 3  # a chart per segment
    assert "<script>" not in html  # inline SVG drawn on the server, no inline script
    assert ">0.00</text>" in html  # the zero line (the reference) is on every chart
    assert "incremental margin" in html and "revenue / customer" in html
    assert "Not enough evidence" in html or "Suggestion:" in html
    assert 'name="discount-D20"' in html and 'value="20.0"' in html


def test_discounts_page_says_why_when_the_arms_cannot_answer(manager_web: Client, analyst_web: Client) -> None:
    exp = _experiment(None, None)
    html = manager_web.get(page("discounts", exp.campaign)).content.decode()
    assert "No discount comparison yet:</strong> no arm has a discount set" in html
    read_only = analyst_web.get(page("discounts", exp.campaign)).content.decode()
    assert "Read-only: only campaign managers set the arms" in read_only and 'name="discount-A"' not in read_only
    assert analyst_web.post(page("discounts", exp.campaign), {"discount-A": "10"}).status_code == 403


def test_manager_sets_the_arms_discounts_on_the_page(manager_web: Client) -> None:
    exp = _experiment(None, None)
    url = page("discounts", exp.campaign)
    response = manager_web.post(url, {"discount-A": "10", "discount-B": "25", "discount-holdout": ""})
    assert response.status_code == 302
    assert messages(response) == ["Discounts saved: A 10%, B 25%, holdout –."]
    assert dict(exp.arms.values_list("key", "discount_percent")) == {
        "A": Decimal("10.0"), "B": Decimal("25.0"), "holdout": None,
    }
    refused = manager_web.post(url, {"discount-A": "95", "discount-B": "5"})
    assert messages(refused)[-1] == "arm A: discount_percent='95' must be between 0 and 90"
    assert exp.arms.get(key="B").discount_percent == Decimal("25.0")  # nothing half-written


# --- API -----------------------------------------------------------------------------------------------


class TestDiscountsRoute(ReadActionTests):
    """GET /campaigns/{id}/discounts/: analysts and managers read it, nobody else; GET only."""

    url = "/api/v1/campaigns/"
    model = Campaign
    permissions = ("campaigns.view_campaign",)
    builder = campaign
    action = "discounts"

    def make_ready(self) -> Campaign:
        return _experiment(10, 20).campaign

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["reference"] == "holdout (no message)"
        assert [d["depth"] for d in body["depths"]] == ["holdout (no message)", "10%", "20%"]


def test_api_gives_the_same_numbers_and_matches_its_schema(manager_client: APIClient, anon_client: APIClient) -> None:
    sim = simulate(per_arm=30, seed=4)
    url = f"/api/v1/campaigns/{sim.experiment.campaign_id}/discounts/"
    response = manager_client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert body == json.loads(json.dumps(discount_suggestions(sim.experiment)))
    assert _segment(body, "lifecycle-lapsed")["rows"][2]["depth"] == "20%"
    schema = schemathesis.openapi.from_dict(anon_client.get("/api/schema/?format=json").json())
    operation = schema["/api/v1/campaigns/{id}/discounts/"]["GET"]
    prepared = requests.Request("GET", f"http://testserver{url}").prepare()
    answer = SchemathesisResponse(200, {"Content-Type": ["application/json"]}, response.content, prepared, 0.0, True)
    operation.validate_response(answer)  # raises when the body does not match the documented schema


def test_api_says_why_the_arms_cannot_answer(manager_client: APIClient) -> None:
    exp = _experiment(10, 10, holdout=False)
    response = manager_client.get(f"/api/v1/campaigns/{exp.campaign_id}/discounts/")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("every arm offers the same discount (10%) and there is no holdout")
    no_experiment = campaign()
    assert manager_client.get(f"/api/v1/campaigns/{no_experiment.pk}/discounts/").status_code == 404
