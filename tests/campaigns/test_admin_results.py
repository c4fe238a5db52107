"""The campaign admin's results pages: arms, verdict and charts, the manager's override of the winner, the
experiment created from the page; the variant, message, experiment and assignment admins; the charts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import charts, experiments
from campaigns.models import Arm, Campaign, Experiment, Message, Variant
from customers.models import Customer, EventType
from tests.customers.builders import event

from .admin_pages import messages, page
from .builders import campaign, subscriber, variant

pytestmark = pytest.mark.django_db


# --- results ---------------------------------------------------------------------------------------------


@pytest.fixture
def running(in_review: Campaign) -> Experiment:
    """A running campaign: arms A, B and a holdout, 30 assigned customers, opens, clicks and purchases."""
    Variant.objects.filter(campaign=in_review, label="B").update(status=Variant.Status.APPROVED)
    experiment = experiments.create_experiment(in_review, holdout_weight=0.2, minimum_sample=5)
    Campaign.objects.filter(pk=in_review.pk).update(status=Campaign.Status.RUNNING)
    start = timezone.now() - timedelta(days=3)
    customers = [subscriber() for _ in range(30)]
    by_customer = experiments.assign(experiment, [c.pk for c in customers], now=start)
    tag = {"campaign": in_review.pk}
    for i, who in enumerate(customers):
        if not by_customer[who.pk].is_holdout:
            event(who, EventType.EXPOSURE, occurred_at=start + timedelta(hours=1), attributes=tag)
            if i % 2 == 0:
                event(who, EventType.OPEN, occurred_at=start + timedelta(days=1), attributes=tag)
        if i % 3 == 0:
            event(who, EventType.PURCHASE, occurred_at=start + timedelta(days=2), value=Decimal("20"))
    return experiment


def test_results_page_shows_arms_verdict_and_charts(manager_web: Client, running: Experiment) -> None:
    campaign = running.campaign
    response = manager_web.get(page("results", campaign))
    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("Conversion rate (primary)", "Open rate", "Click rate"):
        assert heading in html
    for key in ("A", "B", "holdout"):
        assert f"</span> {key}" in html
    assert "P(beat control)" in html and "P(best)" in html and "Holm p" in html
    assert html.count('aria-label="Cumulative ') == 3  # one chart per metric
    assert "<polyline" in html and "<polygon" in html  # rate lines with interval bands
    assert "Rule on conversion rate" in html
    assert "Needed per arm" in html or "not computable" in html
    assert 'name="arm"' in html and "Override the winner" in html


def test_results_override_records_who_and_why(manager_web: Client, running: Experiment, manager: User) -> None:
    url = page("results", running.campaign)
    arm_b = Arm.objects.get(experiment=running, key="B")
    response = manager_web.post(url, {"action": "override", "arm": arm_b.pk, "note": ""}, follow=True)
    assert any("needs a note" in m for m in messages(response))
    manager_web.post(url, {"action": "override", "arm": arm_b.pk, "note": "B fits the brand better"})
    running.refresh_from_db()
    assert running.winner == arm_b and running.winner_overridden_by == manager
    assert running.winner_note == "B fits the brand better"
    html = manager_web.get(url).content.decode()
    assert "Winner: B" in html and "chosen by manager" in html and "B fits the brand better" in html
    manager_web.post(url, {"action": "override", "arm": "", "note": ""})
    running.refresh_from_db()
    assert running.winner_overridden_by is None


def test_results_override_refuses_an_arm_of_another_experiment(manager_web: Client, running: Experiment) -> None:
    other_campaign = campaign(name="Other", status=Campaign.Status.IN_REVIEW)
    variant(other_campaign, label="A", status=Variant.Status.APPROVED)
    other_arm = experiments.create_experiment(other_campaign).arms.first()
    assert other_arm is not None
    response = manager_web.post(
        page("results", running.campaign), {"action": "override", "arm": other_arm.pk, "note": "x"}, follow=True
    )
    running.refresh_from_db()
    assert running.winner_overridden_by is None
    assert any("Choose one of the experiment's arms" in m for m in messages(response))


def test_results_without_experiment_offers_to_create_it(manager_web: Client, in_review: Campaign) -> None:
    url = page("results", in_review)
    html = manager_web.get(url).content.decode()
    assert "No experiment yet" in html and 'value="create"' in html
    response = manager_web.post(url, {"action": "create"}, follow=True)
    assert any("Experiment created" in m for m in messages(response))
    assert Experiment.objects.get(campaign=in_review).arms.filter(key="A").exists()
    assert "Conversion rate" in response.content.decode()


def test_analyst_reads_results_without_the_override_form(analyst_web: Client, running: Experiment) -> None:
    html = analyst_web.get(page("results", running.campaign)).content.decode()
    assert "Conversion rate (primary)" in html and 'name="arm"' not in html and "Read-only" in html
    arm = Arm.objects.get(experiment=running, key="A")
    assert analyst_web.post(
        page("results", running.campaign), {"action": "override", "arm": arm.pk, "note": "x"}
    ).status_code == 403


# --- the other campaign models -------------------------------------------------------------------------


def test_variant_message_experiment_and_assignment_admins(manager_web: Client, running: Experiment) -> None:
    campaign = running.campaign
    customer = Customer.objects.order_by("pk").first()
    assert customer is not None
    Message.objects.create(
        campaign=campaign, customer=customer, variant=campaign.variants.get(label="A"), channel="email",
        recipient=customer.email, status=Message.Status.SENT,
    )
    flagged = campaign.variants.get(label="C")
    flagged.parts = {"subject": {"chosen": 1, "text": "Mugs <for> you", "candidates": [
        {"text": "Best mugs ever", "failed": ["vague_claims: 'best'"]}, {"text": "Mugs <for> you", "score": 1.2}]}}
    flagged.save(update_fields=["parts"])
    html = manager_web.get(reverse("admin:campaigns_variant_change", args=[flagged.pk])).content.decode()
    assert "Generation trace" in html and "Write an email about mugs." in html and "FAIL" in html
    assert "Parts (best of n)" in html and "vague_claims: &#x27;best&#x27;" in html and "score 1.2" in html
    assert "Mugs &lt;for&gt; you" in html and "<b>chosen</b>" in html  # candidates are escaped
    html = manager_web.get(reverse("admin:campaigns_variant_changelist"), {"status__exact": "flagged"}).content.decode()
    assert "Call 555-0101" in html
    html = manager_web.get(reverse("admin:campaigns_message_changelist"), {"status__exact": "sent"}).content.decode()
    assert customer.email in html
    html = manager_web.get(reverse("admin:campaigns_experiment_change", args=[running.pk])).content.decode()
    assert "holdout" in html and "results and charts" in html
    response = manager_web.get(reverse("admin:campaigns_assignment_changelist"))
    assert response.status_code == 200 and "30 assignments" in response.content.decode()


# --- charts ----------------------------------------------------------------------------------------------


def test_rate_chart_edge_cases() -> None:
    assert "No outcomes recorded yet" in charts.rate_over_time_svg([])
    assert "No outcomes recorded yet" in charts.rate_over_time_svg([charts.Series("A", [])])
    day = date(2025, 3, 1)
    one = charts.rate_over_time_svg([charts.Series("<b>A</b>", [charts.Point(day, 0.1, 0.05, 0.2)])])
    assert "<b>" not in one and "&lt;b&gt;A&lt;/b&gt;" in one  # arm keys are escaped
    assert 'stroke-width="6"' in one and "<polyline" not in one  # one day: an error bar, no line
    nan = float("nan")
    days = [charts.Point(date(2025, 3, d), r, nan, nan) for d, r in ((1, nan), (2, 0.1), (3, 0.12))]
    svg = charts.rate_over_time_svg([charts.Series("A", days)])
    assert "<polyline" in svg and "<polygon" not in svg and "nan" not in svg.lower().replace("span", "")
    assert charts.interval_bar(nan, 0.1, 0.2, 1.0, "#000") == ""
