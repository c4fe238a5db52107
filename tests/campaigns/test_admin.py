"""The campaign manager's admin: change form and workflow buttons, side-by-side review, preview for one
customer, results with charts; analysts read everything and change nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import experiments
from campaigns.models import Arm, Campaign, CampaignTransition, Experiment, Message, Variant
from catalog.models import Product
from customers.models import Customer, EventType
from jobs.models import Job
from tests.catalog.builders import product as build_product
from tests.customers.builders import event

from .builders import UNSUBSCRIBE_LINE, campaign, subscriber, variant

pytestmark = pytest.mark.django_db

LANDING = "https://shop.example.com/autumn"
# what generation recorded for the copy: the review page shows it
TRACE: dict[str, Any] = {
    "model_name": "qwen2.5-0.5b-instruct", "attempts": 2, "relevance": 0.71, "prompt": "Write an email about mugs.",
    "guardrails": [
        {"check": "length", "passed": True, "detail": ""},
        {"check": "banned_words", "passed": True, "detail": ""},
    ],
}


@pytest.fixture
def product() -> Product:
    return build_product(sku="MUG-1", title="Stoneware mug", category="Home > Mugs", price=Decimal("18"))


@pytest.fixture
def in_review(product: Product) -> Campaign:
    """An in-review email campaign: A approved, B in review, C flagged by a guardrail; two customers."""
    camp = campaign(name="Autumn mugs", status=Campaign.Status.IN_REVIEW, landing_url=LANDING)
    camp.products.add(product)
    variant(camp, label="A", subject="Your next favourite mug (A)", product=product, status=Variant.Status.APPROVED,
            **TRACE)
    variant(camp, label="B", subject="Your next favourite mug (B)", product=product, **TRACE)
    variant(
        camp, label="C", subject="Your next favourite mug (C)", product=product, status=Variant.Status.FLAGGED,
        body="Call 555-0101 for 50% off!", **{**TRACE, "guardrails": [
            {"check": "length", "passed": True, "detail": ""},
            {"check": "unsupported_discount", "passed": False, "detail": "50% is not in the brief or offer"},
        ]},
    )
    subscriber(name="Ada Lovelace")
    subscriber(name="Alan Turing")
    return camp


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _url(name: str, campaign: Campaign) -> str:
    return reverse(f"admin:campaigns_campaign_{name}", args=[campaign.pk])


# --- change form, list and workflow buttons ----------------------------------------------------------------


def test_change_form_shows_fieldsets_audience_history_and_allowed_moves(
    manager_web: Client, in_review: Campaign, manager: User
) -> None:
    CampaignTransition.objects.create(
        campaign=in_review, from_status="draft", to_status="in_review", user=manager, note="hand-written"
    )
    response = manager_web.get(_url("change", in_review))
    assert response.status_code == 200
    html = response.content.decode()
    for fieldset in ("Brief", "Audience", "Products", "Offer and rules", "Generation", "Status and history"):
        assert f">{fieldset}<" in html
    assert "<strong>2</strong> customers" in html  # the live audience: both consenting customers
    assert "hand-written" in html and "manager" in html  # the transitions table
    assert 'name="status"' not in html  # the status is never edited directly
    assert ">Approve<" in html and ">Back to draft (regenerate)<" in html and ">Cancel campaign<" in html


def test_list_shows_status_badge_and_variant_counts_with_filters(manager_web: Client, in_review: Campaign) -> None:
    campaign(name="Spring teapots")
    url = reverse("admin:campaigns_campaign_changelist")
    response = manager_web.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "In review" in html and "1 / 3" in html and "Spring teapots" in html
    filtered = manager_web.get(url, {"status__exact": "in_review"}).content.decode()
    assert "Autumn mugs" in filtered and "Spring teapots" not in filtered


def test_saving_the_form_keeps_status_and_parses_banned_words(manager_web: Client, manager: User) -> None:
    data = {
        "name": "Winter socks", "goal": "conversion", "channel": "email", "brief": "Warm socks.", "brand_voice": "",
        "tone": "warm", "language": "en", "audience_filters": '{"min_orders": 1}', "offer": "",
        "banned_words": "cheap\nfree, guaranteed\nCheap", "required_text": UNSUBSCRIBE_LINE, "landing_url": "",
        "attribution_days": "7", "variants_per_group": "2", "status": "running",
    }
    response = manager_web.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Winter socks")
    assert campaign.status == Campaign.Status.DRAFT and campaign.created_by == manager
    assert campaign.banned_words == ["cheap", "free", "guaranteed"]
    assert campaign.audience_filters == {"min_orders": 1}


def test_bad_audience_filters_are_refused_with_the_reason(manager_web: Client) -> None:
    data = {
        "name": "Bad", "goal": "conversion", "channel": "email", "language": "en",
        "audience_filters": '{"favourite_colour": "red"}', "attribution_days": "7", "variants_per_group": "2",
    }
    response = manager_web.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 200
    assert "favourite_colour" in response.content.decode()
    assert not Campaign.objects.filter(name="Bad").exists()


def test_approve_button_moves_the_campaign_and_records_who(
    manager_web: Client, in_review: Campaign, manager: User
) -> None:
    response = manager_web.post(_url("transition", in_review), {"to": "approved"}, follow=True)
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.APPROVED and in_review.status_changed_by == manager
    assert CampaignTransition.objects.filter(campaign=in_review, to_status="approved", user=manager).exists()
    assert any("approved" in m for m in _messages(response))


def test_forbidden_transition_is_refused_with_its_message(manager_web: Client, product: Product) -> None:
    draft = campaign()
    response = manager_web.post(_url("transition", draft), {"to": "running"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT
    assert any("cannot go from draft to running" in m for m in _messages(response))
    # an allowed edge whose requirement is unmet: no variants to review
    response = manager_web.post(_url("transition", draft), {"to": "in_review"}, follow=True)
    assert any("no variants to review" in m for m in _messages(response))
    # cancelling needs a note
    response = manager_web.post(_url("transition", draft), {"to": "finished"}, follow=True)
    assert any("needs a note" in m for m in _messages(response))
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT
    manager_web.post(_url("transition", draft), {"to": "finished", "note": "brief withdrawn"})
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.FINISHED


def test_approve_refused_when_the_brief_is_incomplete(manager_web: Client, in_review: Campaign) -> None:
    Campaign.objects.filter(pk=in_review.pk).update(required_text="")
    response = manager_web.post(_url("transition", in_review), {"to": "approved"}, follow=True)
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.IN_REVIEW
    assert any("unsubscribe line" in m for m in _messages(response))


def test_unknown_status_is_refused(manager_web: Client, in_review: Campaign) -> None:
    response = manager_web.post(_url("transition", in_review), {"to": "shipped"}, follow=True)
    assert any("Unknown status" in m for m in _messages(response))


def test_start_creates_the_experiment_and_sends(
    manager_web: Client, in_review: Campaign, manager: User, run_on_commit: None
) -> None:
    Campaign.objects.filter(pk=in_review.pk).update(status=Campaign.Status.APPROVED)
    response = manager_web.post(_url("transition", in_review), {"to": "running"}, follow=True)
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.RUNNING, _messages(response)
    experiment = Experiment.objects.get(campaign=in_review)
    assert experiment.arms.filter(variant__label="A").exists()
    assert CampaignTransition.objects.filter(campaign=in_review, to_status="running", user=manager).exists()
    sent = Message.objects.filter(campaign=in_review, status=Message.Status.SENT).count()
    assert sent == len(mail.outbox) and sent + experiment.assignments.filter(arm__variant=None).count() == 2
    assert any("sending" in m for m in _messages(response))


def test_generate_copy_moves_to_generating_and_queues_the_job(manager_web: Client, manager: User) -> None:
    draft = campaign()
    response = manager_web.post(_url("transition", draft), {"to": "generating"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.GENERATING and draft.status_changed_by == manager
    job = Job.objects.get(kind="generate_campaign")
    assert job.params == {"campaign_id": draft.pk} and job.created_by == manager
    assert any(f"job {job.pk}" in m for m in _messages(response))


def test_regenerate_from_review_goes_through_draft_and_forces(manager_web: Client, in_review: Campaign) -> None:
    html = manager_web.get(_url("review", in_review)).content.decode()
    assert "Regenerate unapproved copy" in html
    manager_web.post(_url("transition", in_review), {"to": "generating"})
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.GENERATING
    moves = list(in_review.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert moves == [("in_review", "draft"), ("draft", "generating")]
    assert Job.objects.get(kind="generate_campaign").params == {"campaign_id": in_review.pk, "force": True}


def test_generate_refused_for_a_bad_brief_moves_nothing(manager_web: Client) -> None:
    draft = campaign(variants_per_group=0)
    response = manager_web.post(_url("transition", draft), {"to": "generating"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT and not Job.objects.exists()
    assert any("variants_per_group" in m for m in _messages(response))


def test_changelist_action_applies_the_workflow_to_each_campaign(manager_web: Client, in_review: Campaign) -> None:
    draft = campaign(name="Empty draft")
    url = reverse("admin:campaigns_campaign_changelist")
    response = manager_web.post(
        url, {"action": "submit_for_review", "_selected_action": [draft.pk, in_review.pk]}, follow=True
    )
    texts = _messages(response)
    assert any("Empty draft" in m and "no variants to review" in m for m in texts)
    assert any("already in_review" in m for m in texts)


# --- review ------------------------------------------------------------------------------------------------


def test_review_page_shows_variants_side_by_side_with_guardrails(manager_web: Client, in_review: Campaign) -> None:
    response = manager_web.get(_url("review", in_review))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="cmp-card') == 3
    assert "Product: Stoneware mug" in html  # one group: the segment x product
    assert "unsupported_discount" in html and "50% is not in the brief or offer" in html  # failure highlighted
    assert "2 checks passed" in html  # passes collapsed
    assert "qwen2.5-0.5b-instruct" in html and "relevance 0.71" in html and "2 attempts" in html
    assert 'value="approve"' in html and 'value="reject"' in html and 'value="edit"' in html


def test_review_approve_reject_and_edit(manager_web: Client, in_review: Campaign, manager: User) -> None:
    b = in_review.variants.get(label="B")
    url = _url("review", in_review)
    manager_web.post(url, {"variant": b.pk, "action": "approve"})
    b.refresh_from_db()
    assert b.status == Variant.Status.APPROVED and b.reviewed_by == manager

    response = manager_web.post(url, {"variant": b.pk, "action": "reject", "reason": "  "}, follow=True)
    b.refresh_from_db()
    assert b.status == Variant.Status.APPROVED
    assert any("needs a reason" in m for m in _messages(response))
    manager_web.post(url, {"variant": b.pk, "action": "reject", "reason": "Too generic"})
    b.refresh_from_db()
    assert b.status == Variant.Status.REJECTED and b.rejection_reason == "Too generic"

    c = in_review.variants.get(label="C")
    response = manager_web.post(url, {"variant": c.pk, "action": "approve"}, follow=True)
    c.refresh_from_db()
    assert c.status == Variant.Status.FLAGGED
    assert any("failed guardrails" in m for m in _messages(response))
    response = manager_web.post(
        url,
        {"variant": c.pk, "action": "edit", "subject": "Mugs for slow mornings", "preheader": "Warm hands",
         "body": "Our stoneware mugs keep tea warm.\r\nEnjoy 15% off with code AUTUMN15."},
        follow=True,
    )
    c.refresh_from_db()
    assert c.body == "Our stoneware mugs keep tea warm.\nEnjoy 15% off with code AUTUMN15."
    assert c.generated_body == "Call 555-0101 for 50% off!" and c.edited_by == manager
    assert c.status in (Variant.Status.IN_REVIEW, Variant.Status.FLAGGED)
    assert any("Variant C saved" in m for m in _messages(response))


def test_review_edit_refuses_an_empty_body(manager_web: Client, in_review: Campaign) -> None:
    b = in_review.variants.get(label="B")
    response = manager_web.post(
        _url("review", in_review), {"variant": b.pk, "action": "edit", "body": "  "}, follow=True
    )
    b.refresh_from_db()
    assert b.body.startswith("Warm tea")
    assert any("must not be empty" in m for m in _messages(response))


def test_review_of_a_running_campaign_is_read_only(manager_web: Client, in_review: Campaign) -> None:
    Campaign.objects.filter(pk=in_review.pk).update(status=Campaign.Status.RUNNING)
    html = manager_web.get(_url("review", in_review)).content.decode()
    assert 'value="approve"' not in html and "only while it is a draft or in review" in html
    b = in_review.variants.get(label="B")
    response = manager_web.post(_url("review", in_review), {"variant": b.pk, "action": "approve"}, follow=True)
    b.refresh_from_db()
    assert b.status == Variant.Status.IN_REVIEW
    assert any("only while the campaign is draft or in review" in m for m in _messages(response))


def test_review_rejects_a_variant_of_another_campaign(manager_web: Client, in_review: Campaign) -> None:
    other = variant(campaign(name="Other"), label="A")
    response = manager_web.post(_url("review", in_review), {"variant": other.pk, "action": "approve"})
    assert response.status_code == 404


# --- analysts --------------------------------------------------------------------------------------------


def test_analyst_sees_pages_without_buttons_and_cannot_act(analyst_web: Client, in_review: Campaign) -> None:
    for name in ("change", "review", "preview"):
        response = analyst_web.get(_url(name, in_review))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert 'value="approve"' not in html and 'name="to"' not in html, name
    assert "Read-only" in analyst_web.get(_url("review", in_review)).content.decode()
    b = in_review.variants.get(label="B")
    assert analyst_web.post(_url("review", in_review), {"variant": b.pk, "action": "approve"}).status_code == 403
    assert analyst_web.post(_url("transition", in_review), {"to": "approved"}).status_code == 403
    assert analyst_web.post(_url("results", in_review), {"action": "create"}).status_code == 403
    b.refresh_from_db()
    in_review.refresh_from_db()
    assert b.status == Variant.Status.IN_REVIEW and in_review.status == Campaign.Status.IN_REVIEW
    assert not Experiment.objects.filter(campaign=in_review).exists()


def test_user_without_permissions_gets_nothing(nobody_web: Client, in_review: Campaign) -> None:
    assert nobody_web.get(_url("review", in_review)).status_code == 403
    assert nobody_web.get(_url("results", in_review)).status_code == 403


# --- preview ---------------------------------------------------------------------------------------------


def test_preview_renders_the_email_for_the_chosen_customer(manager_web: Client, in_review: Campaign) -> None:
    ada = Customer.objects.get(name="Ada Lovelace")
    a = in_review.variants.get(label="A")
    response = manager_web.get(_url("preview", in_review), {"customer": ada.pk, "variant": a.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "As Ada Lovelace would get it" in html
    assert "Your next favourite mug (A)" in html and "Stoneware that keeps tea warm" in html
    assert "Hi Ada," in html  # the body, personalised
    assert "Stoneware mug" in html and "utm_campaign=campaign-" in html  # product with a tracked link
    assert "Reply STOP to unsubscribe" in html  # required text
    assert "Alan Turing" in html  # the other audience customer can be picked


def test_preview_search_and_customer_outside_the_audience(manager_web: Client, in_review: Campaign) -> None:
    found = manager_web.get(_url("preview", in_review), {"q": "turing"}).content.decode()
    assert "Alan Turing" in found and "As Alan Turing would get it" in found
    none = manager_web.get(_url("preview", in_review), {"q": "nobody-like-this"}).content.decode()
    assert "No customer of the audience matches" in none
    outsider = subscriber(name="Olga Outsider", marketing_consent=False)
    html = manager_web.get(_url("preview", in_review), {"customer": outsider.pk}).content.decode()
    assert "Olga Outsider is not in this campaign" in html


def test_preview_sms_shows_text_and_character_count(manager_web: Client) -> None:
    sms = campaign(channel="sms", required_text="STOP to end", landing_url=LANDING)
    copy = variant(sms, label="A", subject="", body="Hi {first_name}, mugs are back: 15% off with AUTUMN15.", **TRACE)
    sam = subscriber(name="Sam Jones", attributes={"phone": "+447700900123"})
    html = manager_web.get(_url("preview", sms), {"customer": sam.pk, "variant": copy.pk}).content.decode()
    assert "Hi Sam, mugs are back" in html and "/ 160 characters" in html
    assert "cmp-bubble" in html and "<iframe" not in html


def test_preview_without_variants_says_so(manager_web: Client) -> None:
    draft = campaign()
    subscriber()
    html = manager_web.get(_url("preview", draft)).content.decode()
    assert "No variants to preview yet" in html


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
    response = manager_web.get(_url("results", campaign))
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
    url = _url("results", running.campaign)
    arm_b = Arm.objects.get(experiment=running, key="B")
    response = manager_web.post(url, {"action": "override", "arm": arm_b.pk, "note": ""}, follow=True)
    assert any("needs a note" in m for m in _messages(response))
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
        _url("results", running.campaign), {"action": "override", "arm": other_arm.pk, "note": "x"}, follow=True
    )
    running.refresh_from_db()
    assert running.winner_overridden_by is None
    assert any("Choose one of the experiment's arms" in m for m in _messages(response))


def test_results_without_experiment_offers_to_create_it(manager_web: Client, in_review: Campaign) -> None:
    url = _url("results", in_review)
    html = manager_web.get(url).content.decode()
    assert "No experiment yet" in html and 'value="create"' in html
    response = manager_web.post(url, {"action": "create"}, follow=True)
    assert any("Experiment created" in m for m in _messages(response))
    assert Experiment.objects.get(campaign=in_review).arms.filter(key="A").exists()
    assert "Conversion rate" in response.content.decode()


def test_analyst_reads_results_without_the_override_form(analyst_web: Client, running: Experiment) -> None:
    html = analyst_web.get(_url("results", running.campaign)).content.decode()
    assert "Conversion rate (primary)" in html and 'name="arm"' not in html and "Read-only" in html
    arm = Arm.objects.get(experiment=running, key="A")
    assert analyst_web.post(
        _url("results", running.campaign), {"action": "override", "arm": arm.pk, "note": "x"}
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
    html = manager_web.get(reverse("admin:campaigns_variant_change", args=[flagged.pk])).content.decode()
    assert "Generation trace" in html and "Write an email about mugs." in html and "FAIL" in html
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
    from datetime import date

    from campaigns import charts

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


def test_review_page_queries_do_not_grow_with_variants(manager_web: Client, in_review: Campaign, manager: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = _url("review", in_review)
    with CaptureQueriesContext(connection) as few:
        assert manager_web.get(url).status_code == 200
    for label in "DEFGHIJ":
        variant(in_review, label=label, edited_by=manager, reviewed_by=manager, **TRACE)
    with CaptureQueriesContext(connection) as many:
        assert manager_web.get(url).status_code == 200
    assert len(many) == len(few)
