"""The campaign manager's admin: change form and workflow buttons, side-by-side review, preview for one
customer; analysts read everything and change nothing. (Results pages: test_admin_results.py.)"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.templatetags.static import static
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import campaigns as campaigns_app
from campaigns.email_template import PRODUCT_CTA_LABEL
from campaigns.models import Campaign, CampaignTransition, Experiment, Message, Variant
from catalog.models import Product
from customers.models import Customer
from jobs.models import Job

from .admin_pages import messages, page
from .builders import GENERATION_TRACE, UNSUBSCRIBE_LINE, campaign, proofed, subscriber, variant

pytestmark = pytest.mark.django_db


# --- change form, list and workflow buttons ----------------------------------------------------------------


def test_change_form_shows_fieldsets_audience_history_and_allowed_moves(
    manager_web: Client, in_review: Campaign, manager: User
) -> None:
    CampaignTransition.objects.create(
        campaign=in_review, from_status="draft", to_status="in_review", user=manager, note="hand-written"
    )
    response = manager_web.get(page("change", in_review))
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
        "greeting": "Hello {first_name},", "sign_off": "Warm regards,\nThe sock team", "send_timing": "now",
    }
    response = manager_web.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Winter socks")
    assert (campaign.greeting, campaign.sign_off) == ("Hello {first_name},", "Warm regards,\nThe sock team")
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
    response = manager_web.post(page("transition", in_review), {"to": "approved"}, follow=True)
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.APPROVED and in_review.status_changed_by == manager
    assert CampaignTransition.objects.filter(campaign=in_review, to_status="approved", user=manager).exists()
    assert any("approved" in m for m in messages(response))


def test_forbidden_transition_is_refused_with_its_message(manager_web: Client, mug: Product) -> None:
    draft = campaign()
    response = manager_web.post(page("transition", draft), {"to": "running"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT
    assert any("cannot go from draft to running" in m for m in messages(response))
    # an allowed edge whose requirement is unmet: no variants to review
    response = manager_web.post(page("transition", draft), {"to": "in_review"}, follow=True)
    assert any("no variants to review" in m for m in messages(response))
    # cancelling needs a note
    response = manager_web.post(page("transition", draft), {"to": "finished"}, follow=True)
    assert any("needs a note" in m for m in messages(response))
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT
    manager_web.post(page("transition", draft), {"to": "finished", "note": "brief withdrawn"})
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.FINISHED


def test_approve_refused_when_the_brief_is_incomplete(manager_web: Client, in_review: Campaign) -> None:
    Campaign.objects.filter(pk=in_review.pk).update(required_text="")
    response = manager_web.post(page("transition", in_review), {"to": "approved"}, follow=True)
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.IN_REVIEW
    assert any("unsubscribe line" in m for m in messages(response))


def test_unknown_status_is_refused(manager_web: Client, in_review: Campaign) -> None:
    response = manager_web.post(page("transition", in_review), {"to": "shipped"}, follow=True)
    assert any("Unknown status" in m for m in messages(response))


def test_start_creates_the_experiment_and_sends(
    manager_web: Client, in_review: Campaign, manager: User, run_on_commit: None
) -> None:
    Campaign.objects.filter(pk=in_review.pk).update(status=Campaign.Status.APPROVED)
    proofed(in_review)
    confirm = manager_web.post(page("transition", in_review), {"to": "running"})
    assert "Send to 2 customers?" in confirm.content.decode()  # nothing sent before the confirmation
    assert not Experiment.objects.filter(campaign=in_review).exists() and not mail.outbox
    response = manager_web.post(page("transition", in_review), {"to": "running", "confirm_recipients": 2}, follow=True)
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.RUNNING, messages(response)
    experiment = Experiment.objects.get(campaign=in_review)
    assert experiment.arms.filter(variant__label="A").exists()
    assert CampaignTransition.objects.filter(campaign=in_review, to_status="running", user=manager).exists()
    sent = Message.objects.filter(campaign=in_review, status=Message.Status.SENT).count()
    assert sent == len(mail.outbox) and sent + experiment.assignments.filter(arm__variant=None).count() == 2
    assert any("sending" in m for m in messages(response))


def test_generate_copy_moves_to_generating_and_queues_the_job(manager_web: Client, manager: User) -> None:
    draft = campaign()
    response = manager_web.post(page("transition", draft), {"to": "generating"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.GENERATING and draft.status_changed_by == manager
    job = Job.objects.get(kind="generate_campaign")
    assert job.params == {"campaign_id": draft.pk} and job.created_by == manager
    assert any(f"job {job.pk}" in m for m in messages(response))


def test_regenerate_from_review_goes_through_draft_and_forces(manager_web: Client, in_review: Campaign) -> None:
    html = manager_web.get(page("review", in_review)).content.decode()
    assert "Regenerate unapproved copy" in html
    manager_web.post(page("transition", in_review), {"to": "generating"})
    in_review.refresh_from_db()
    assert in_review.status == Campaign.Status.GENERATING
    moves = list(in_review.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert moves == [("in_review", "draft"), ("draft", "generating")]
    assert Job.objects.get(kind="generate_campaign").params == {"campaign_id": in_review.pk, "force": True}


def test_generate_refused_for_a_bad_brief_moves_nothing(manager_web: Client) -> None:
    draft = campaign(variants_per_group=0)
    response = manager_web.post(page("transition", draft), {"to": "generating"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT and not Job.objects.exists()
    assert any("variants_per_group" in m for m in messages(response))


def test_changelist_action_applies_the_workflow_to_each_campaign(manager_web: Client, in_review: Campaign) -> None:
    draft = campaign(name="Empty draft")
    url = reverse("admin:campaigns_campaign_changelist")
    response = manager_web.post(
        url, {"action": "submit_for_review", "_selected_action": [draft.pk, in_review.pk]}, follow=True
    )
    texts = messages(response)
    assert any("Empty draft" in m and "no variants to review" in m for m in texts)
    assert any("already in_review" in m for m in texts)


# --- review ------------------------------------------------------------------------------------------------


def test_review_page_shows_variants_side_by_side_with_guardrails(manager_web: Client, in_review: Campaign) -> None:
    response = manager_web.get(page("review", in_review))
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
    url = page("review", in_review)
    manager_web.post(url, {"variant": b.pk, "action": "approve"})
    b.refresh_from_db()
    assert b.status == Variant.Status.APPROVED and b.reviewed_by == manager

    response = manager_web.post(url, {"variant": b.pk, "action": "reject", "reason": "  "}, follow=True)
    b.refresh_from_db()
    assert b.status == Variant.Status.APPROVED
    assert any("needs a reason" in m for m in messages(response))
    manager_web.post(url, {"variant": b.pk, "action": "reject", "reason": "Too generic"})
    b.refresh_from_db()
    assert b.status == Variant.Status.REJECTED and b.rejection_reason == "Too generic"

    c = in_review.variants.get(label="C")
    response = manager_web.post(url, {"variant": c.pk, "action": "approve"}, follow=True)
    c.refresh_from_db()
    assert c.status == Variant.Status.FLAGGED
    assert any("failed guardrails" in m for m in messages(response))
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
    assert any("Variant C saved" in m for m in messages(response))


def test_review_edit_refuses_an_empty_body(manager_web: Client, in_review: Campaign) -> None:
    b = in_review.variants.get(label="B")
    response = manager_web.post(
        page("review", in_review), {"variant": b.pk, "action": "edit", "body": "  "}, follow=True
    )
    b.refresh_from_db()
    assert b.body.startswith("Warm tea")
    assert any("must not be empty" in m for m in messages(response))


def test_review_of_a_running_campaign_is_read_only(manager_web: Client, in_review: Campaign) -> None:
    Campaign.objects.filter(pk=in_review.pk).update(status=Campaign.Status.RUNNING)
    html = manager_web.get(page("review", in_review)).content.decode()
    assert 'value="approve"' not in html and "only while it is a draft or in review" in html
    b = in_review.variants.get(label="B")
    response = manager_web.post(page("review", in_review), {"variant": b.pk, "action": "approve"}, follow=True)
    b.refresh_from_db()
    assert b.status == Variant.Status.IN_REVIEW
    assert any("only while the campaign is draft or in review" in m for m in messages(response))


def test_review_rejects_a_variant_of_another_campaign(manager_web: Client, in_review: Campaign) -> None:
    other = variant(campaign(name="Other"), label="A")
    response = manager_web.post(page("review", in_review), {"variant": other.pk, "action": "approve"})
    assert response.status_code == 404


# --- analysts --------------------------------------------------------------------------------------------


def test_analyst_sees_pages_without_buttons_and_cannot_act(analyst_web: Client, in_review: Campaign) -> None:
    for name in ("change", "review", "preview"):
        response = analyst_web.get(page(name, in_review))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert 'value="approve"' not in html and 'name="to"' not in html, name
    assert "Read-only" in analyst_web.get(page("review", in_review)).content.decode()
    b = in_review.variants.get(label="B")
    assert analyst_web.post(page("review", in_review), {"variant": b.pk, "action": "approve"}).status_code == 403
    assert analyst_web.post(page("transition", in_review), {"to": "approved"}).status_code == 403
    assert analyst_web.post(page("results", in_review), {"action": "create"}).status_code == 403
    b.refresh_from_db()
    in_review.refresh_from_db()
    assert b.status == Variant.Status.IN_REVIEW and in_review.status == Campaign.Status.IN_REVIEW
    assert not Experiment.objects.filter(campaign=in_review).exists()


def test_user_without_permissions_gets_nothing(nobody_web: Client, in_review: Campaign) -> None:
    assert nobody_web.get(page("review", in_review)).status_code == 403
    assert nobody_web.get(page("results", in_review)).status_code == 403


# --- preview ---------------------------------------------------------------------------------------------


def test_preview_renders_the_email_for_the_chosen_customer(manager_web: Client, in_review: Campaign) -> None:
    ada = Customer.objects.get(name="Ada Lovelace")
    a = in_review.variants.get(label="A")
    response = manager_web.get(page("preview", in_review), {"customer": ada.pk, "variant": a.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "As Ada Lovelace would get it" in html
    assert "Your next favourite mug (A)" in html and "Stoneware that keeps tea warm" in html
    assert "Hi Ada," in html  # the body, personalised
    assert "Stoneware mug" in html and "utm_campaign=campaign-" in html  # product with a tracked link
    assert "Reply STOP to unsubscribe" in html  # required text
    assert "Alan Turing" in html  # the other audience customer can be picked


def test_preview_shows_links_as_buttons_in_a_column_that_fits(manager_web: Client, in_review: Campaign) -> None:
    ada = Customer.objects.get(name="Ada Lovelace")
    a = in_review.variants.get(label="A")
    response = manager_web.get(page("preview", in_review), {"customer": ada.pk, "variant": a.pk})
    rendered = response.context["rendered"]
    url = html_lib.escape(rendered.products[0].url)
    # the email's own call to action: a button-styled link to the tracked product URL, in a 600px column
    cta = re.search(rf'<a href="{re.escape(url)}" data-button="1" style="display:inline-block;[^"]*">'
                    rf"{PRODUCT_CTA_LABEL}</a>", rendered.html)
    assert cta is not None
    assert "max-width:600px" in rendered.html and "overflow-wrap:anywhere" in rendered.html
    html = response.content.decode()
    assert html_lib.escape(cta.group(0)) in html  # the same email, in the iframe's srcdoc
    assert 'class="cmp-desktop"' in html and "width=narrow" in html  # desktop first, a link to the phone width
    phone = {"customer": str(ada.pk), "variant": str(a.pk), "width": "narrow"}
    narrow = manager_web.get(page("preview", in_review), phone)
    assert 'class="cmp-narrow"' in narrow.content.decode()
    assert f'<a class="button cmp-cta" href="{url}"' in html  # the product list beside it
    assert '<div class="cmp-inbox cmp-preview">' in html and "onchange=" not in html and "<style" not in html
    stylesheet = static("campaigns/campaign-admin.css")
    assert f'<link rel="stylesheet" href="{stylesheet}">' in html
    css = (Path(campaigns_app.__file__).parent / "static/campaigns/campaign-admin.css").read_text()
    assert ".cmp-inbox{max-width:680px;width:100%" in css and ".cmp-inbox iframe{display:block;width:100%" in css
    assert "@media (max-width:767px){.cmp-picker{grid-template-columns:minmax(0,1fr)}}" in css


def test_preview_search_and_customer_outside_the_audience(manager_web: Client, in_review: Campaign) -> None:
    found = manager_web.get(page("preview", in_review), {"q": "turing"}).content.decode()
    assert "Alan Turing" in found and "As Alan Turing would get it" in found
    none = manager_web.get(page("preview", in_review), {"q": "nobody-like-this"}).content.decode()
    assert "No customer of the audience matches" in none
    outsider = subscriber(name="Olga Outsider", marketing_consent=False)
    html = manager_web.get(page("preview", in_review), {"customer": outsider.pk}).content.decode()
    assert "Olga Outsider is not in this campaign" in html


def test_preview_sms_shows_text_and_character_count(manager_web: Client) -> None:
    sms = campaign(channel="sms", required_text="STOP to end", landing_url="https://shop.example.com/autumn")
    body = "Hi {first_name}, mugs are back: 15% off with AUTUMN15."
    copy = variant(sms, label="A", subject="", body=body, **GENERATION_TRACE)
    sam = subscriber(name="Sam Jones", attributes={"phone": "+447700900123"})
    html = manager_web.get(page("preview", sms), {"customer": sam.pk, "variant": copy.pk}).content.decode()
    assert "Hi Sam, mugs are back" in html and "/ 160 characters" in html
    assert "cmp-bubble" in html and "<iframe" not in html


def test_preview_without_variants_says_so(manager_web: Client) -> None:
    draft = campaign()
    subscriber()
    html = manager_web.get(page("preview", draft)).content.decode()
    assert "No variants to preview yet" in html


def test_review_page_queries_do_not_grow_with_variants(manager_web: Client, in_review: Campaign, manager: User) -> None:
    url = page("review", in_review)
    with CaptureQueriesContext(connection) as few:
        assert manager_web.get(url).status_code == 200
    for label in "DEFGHIJ":
        variant(in_review, label=label, edited_by=manager, reviewed_by=manager, **GENERATION_TRACE)
    with CaptureQueriesContext(connection) as many:
        assert manager_web.get(url).status_code == 200
    assert len(many) == len(few)
