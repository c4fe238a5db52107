"""The assistant's admin: every page renders for a manager (lists, change pages, transcript, inbox, learn
form); analysts read without forms or changes; the inbox and learn forms go through `assistant.inbox`;
article previews never run HTML; lists take a fixed number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assistant.models import (
    Article,
    Author,
    Conversation,
    ConversationStatus,
    Feedback,
    HandoffReason,
    KnowledgeChunk,
    ProductQuestion,
)
from tests.catalog.builders import product

from .builders_admin import (
    answered,
    article,
    conversation,
    handed_off,
    product_question,
    publishable_key,
    unanswered,
)

pytestmark = pytest.mark.django_db

APP_MODELS = ["productquestion", "article", "knowledgechunk", "publishablekey", "conversation", "handoffinbox",
              "unansweredquestion"]




@pytest.fixture
def knowledge() -> dict[str, Any]:
    """One of everything the app's admin lists."""
    kettle = product(sku="KET-1", title="Gooseneck kettle")
    conv = conversation(product=kettle, key=publishable_key())
    answered(conv, feedback=Feedback.HELPFUL)
    item = unanswered(product_=kettle)
    KnowledgeChunk.objects.create(
        kind="question", source_id=1, product=kettle, title="Is it dishwasher safe?", text="Yes, top rack.",
        language="en", search_text="Is it dishwasher safe? Yes, top rack.", text_hash="h",
    )
    return {
        "product": kettle, "conversation": conv, "unanswered": item, "article": article(),
        "question": product_question(product=kettle),
    }


def _url(model: str, view: str, *args: Any) -> str:
    return reverse(f"admin:assistant_{model}_{view}", args=args)


def messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- every page renders -----------------------------------------------------------------------------------


def test_every_page_of_the_app_renders_for_a_manager(manager_web: Client, knowledge: dict[str, Any]) -> None:
    registered = {m._meta.model_name for m in admin.site._registry if m._meta.app_label == "assistant"}
    assert registered == set(APP_MODELS)
    handed_off()  # the inbox has a row
    for model in APP_MODELS:
        response = manager_web.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        assert manager_web.get(_url(model, "changelist"), {"q": "a"}).status_code == 200, model
        obj = admin.site._registry[next(m for m in admin.site._registry if m._meta.model_name == model)].get_queryset(
            response.wsgi_request
        ).first()
        assert obj is not None, model
        assert manager_web.get(_url(model, "change", obj.pk)).status_code == 200, model
    assert manager_web.get(_url("unansweredquestion", "learn", knowledge["unanswered"].pk)).status_code == 200
    for model in ("article", "productquestion", "publishablekey"):
        assert manager_web.get(_url(model, "add")).status_code == 200, model


def test_conversation_list_shows_feedback_counts_and_filters(manager_web: Client, knowledge: dict[str, Any]) -> None:
    unhappy = conversation()
    answered(unhappy, "Where is my parcel?", feedback=Feedback.NOT_HELPFUL)
    answered(unhappy, "Still nothing?", feedback=Feedback.NOT_HELPFUL)
    html = manager_web.get(_url("conversation", "changelist")).content.decode()
    assert 'class="field-helpful">1<' in html and 'class="field-not_helpful">2<' in html
    assert "Still nothing?" in html  # the last question
    filtered = manager_web.get(_url("conversation", "changelist"), {"feedback": "not_helpful"}).content.decode()
    assert "Still nothing?" not in manager_web.get(
        _url("conversation", "changelist"), {"feedback": "helpful"}
    ).content.decode()
    assert "Still nothing?" in filtered
    reasons = manager_web.get(_url("conversation", "changelist"), {"handoff_reason__exact": "no_evidence"})
    assert "Does the lid fit" in reasons.content.decode() and "Still nothing?" not in reasons.content.decode()


def test_transcript_shows_sources_beside_each_answer(manager_web: Client, knowledge: dict[str, Any]) -> None:
    html = manager_web.get(_url("conversation", "change", knowledge["conversation"].pk)).content.decode()
    assert "Yes: return unworn items within 30 days." in html
    assert "Returns: 30 days" in html and "Return unworn items within 30 days." in html  # title and quoted span
    assert "score 0.82" in html and "confidence 0.82" in html
    assert "intent Returns" in html and "feedback: <strong>Helpful</strong>" in html
    assert 'name="action" value="reply"' in html and 'value="assign_me"' in html


# --- the inbox --------------------------------------------------------------------------------------------


def test_inbox_lists_handed_off_open_conversations_oldest_first(manager_web: Client) -> None:
    newer = handed_off(HandoffReason.COMPLAINT, hours_ago=1)
    older = handed_off(HandoffReason.ORDER_STATUS, hours_ago=30)
    closed = handed_off(hours_ago=50, status=ConversationStatus.CLOSED)
    open_ = conversation()
    html = manager_web.get(_url("handoffinbox", "changelist")).content.decode()
    assert str(older.pk)[:8] in html and str(newer.pk)[:8] in html
    assert str(closed.pk)[:8] not in html and str(open_.pk)[:8] not in html
    assert html.index(str(older.pk)[:8]) < html.index(str(newer.pk)[:8])
    assert "30 h ago" in html


def test_inbox_assign_to_me_action_and_reply_form(manager_web: Client, manager: User) -> None:
    conv = handed_off()
    response = manager_web.post(
        _url("handoffinbox", "changelist"), {"action": "assign_to_me", "_selected_action": [str(conv.pk)]}
    )
    assert response.status_code == 302
    conv.refresh_from_db()
    assert conv.assigned_to == manager
    page = manager_web.get(_url("handoffinbox", "change", conv.pk))
    assert page.status_code == 200 and "Reply to the shopper" in page.content.decode()
    reply = manager_web.post(_url("handoffinbox", "inbox", conv.pk), {"action": "reply", "text": "It fits, yes."})
    assert reply.status_code == 302 and reply["Location"] == _url("handoffinbox", "change", conv.pk)
    staff = conv.messages.get(author=Author.STAFF)
    assert staff.text == "It fits, yes." and staff.staff_user == manager
    assert "It fits, yes." in manager_web.get(_url("handoffinbox", "change", conv.pk)).content.decode()


def test_inbox_refusals_show_the_reason(manager_web: Client) -> None:
    conv = handed_off()
    empty = manager_web.post(_url("conversation", "inbox", conv.pk), {"action": "reply", "text": "  "})
    assert any("the reply is empty" in m for m in messages(empty))
    manager_web.post(_url("conversation", "inbox", conv.pk), {"action": "close"})
    conv.refresh_from_db()
    assert conv.status == ConversationStatus.CLOSED
    again = manager_web.post(_url("conversation", "inbox", conv.pk), {"action": "reply", "text": "Hello"})
    assert any("closed: reopen it" in m for m in messages(again))
    manager_web.post(_url("conversation", "inbox", conv.pk), {"action": "reopen"})
    conv.refresh_from_db()
    assert conv.status == ConversationStatus.HANDED_OFF


def test_assign_to_someone_from_the_transcript(manager_web: Client, admin_user: User) -> None:
    conv = handed_off()
    page = manager_web.get(_url("conversation", "change", conv.pk)).content.decode()
    assert f'<option value="{admin_user.pk}"' in page
    manager_web.post(_url("conversation", "inbox", conv.pk), {"action": "assign", "to": str(admin_user.pk)})
    conv.refresh_from_db()
    assert conv.assigned_to == admin_user


# --- learning ---------------------------------------------------------------------------------------------


def test_unanswered_list_and_learn_form_prefilled_with_the_question(
    manager_web: Client, knowledge: dict[str, Any]
) -> None:
    item = knowledge["unanswered"]
    html = manager_web.get(_url("unansweredquestion", "changelist")).content.decode()
    assert "Questions the assistant could not answer" in html and "teach the answer" in html and "0.21" in html
    form = manager_web.get(_url("unansweredquestion", "learn", item.pk)).content.decode()
    assert "## Does the lid fit the older model? Mail me at [email]" in form  # the body starts with the question
    assert "ann@example.com" not in form.split("ast-learn")[1]  # prefilled without the shopper's address
    assert 'value="KET-1"' in form  # the product answer's product


def test_learn_form_saves_an_article(manager_web: Client, knowledge: dict[str, Any]) -> None:
    item = knowledge["unanswered"]
    data = {"kind": "article", "title": "Lids", "topic": "faq", "body": "## Lids\n\nEvery lid since 2019 fits.",
            "publish": "on"}
    response = manager_web.post(_url("unansweredquestion", "learn", item.pk), data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.answered_by_article == Article.objects.get(title="Lids") and item.resolved_at is not None


def test_learn_form_saves_a_product_answer_and_names_a_bad_sku(
    manager_web: Client, knowledge: dict[str, Any]
) -> None:
    item = knowledge["unanswered"]
    url = _url("unansweredquestion", "learn", item.pk)
    bad = manager_web.post(url, {"kind": "answer", "product": "NOPE-9", "answer": "Yes."})
    assert bad.status_code == 200 and "no product with SKU &#x27;NOPE-9&#x27;" in bad.content.decode()
    good = manager_web.post(url, {"kind": "answer", "product": "KET-1", "answer": "Yes, since 2019."})
    assert good.status_code == 302
    item.refresh_from_db()
    learnt = ProductQuestion.objects.get(source="assistant")
    assert item.answered_by_question == learnt and learnt.product == knowledge["product"]
    assert "ann@example.com" not in learnt.question
    resolved_page = manager_web.get(url).content.decode()
    assert "Resolved" in resolved_page and 'name="kind"' not in resolved_page


# --- analysts read, never change --------------------------------------------------------------------------


def test_analysts_read_every_page_without_forms(analyst_web: Client, knowledge: dict[str, Any]) -> None:
    conv, item = knowledge["conversation"], knowledge["unanswered"]
    for model in APP_MODELS:
        assert analyst_web.get(_url(model, "changelist")).status_code == 200, model
    assert "assign_to_me" not in analyst_web.get(_url("handoffinbox", "changelist")).content.decode()
    transcript = analyst_web.get(_url("conversation", "change", conv.pk)).content.decode()
    assert "Read-only" in transcript and 'value="reply"' not in transcript
    learn = analyst_web.get(_url("unansweredquestion", "learn", item.pk)).content.decode()
    assert "Read-only" in learn and 'name="kind"' not in learn
    article_page = analyst_web.get(_url("article", "change", knowledge["article"].pk)).content.decode()
    assert 'name="body"' not in article_page


def test_analysts_posts_are_refused(analyst_web: Client, knowledge: dict[str, Any]) -> None:
    conv, item = knowledge["conversation"], knowledge["unanswered"]
    reply = analyst_web.post(_url("conversation", "inbox", conv.pk), {"action": "reply", "text": "Hi"})
    assert reply.status_code == 403 and "only managers" in reply.content.decode()
    assert not conv.messages.filter(author=Author.STAFF).exists()
    learn = analyst_web.post(
        _url("unansweredquestion", "learn", item.pk), {"kind": "answer", "product": "KET-1", "answer": "Yes."}
    )
    assert learn.status_code == 403
    item.refresh_from_db()
    assert item.resolved_at is None
    edit = analyst_web.post(_url("article", "change", knowledge["article"].pk), {"title": "Changed"})
    assert edit.status_code == 403


# --- articles, keys, chunks -------------------------------------------------------------------------------


def test_article_preview_renders_markdown_and_escapes_html(manager_web: Client) -> None:
    item = article(body="## Returns\n\nWithin **30 days**.\n\n<script>alert('x')</script>\n\n[a](javascript:alert(1))")
    html = manager_web.get(_url("article", "change", item.pk)).content.decode()
    assert "<h2>Returns</h2>" in html and "<strong>30 days</strong>" in html
    assert "<script>alert('x')</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_publishable_key_page_shows_the_snippet_and_checks_origins(manager_web: Client) -> None:
    key = publishable_key()
    html = manager_web.get(_url("publishablekey", "change", key.pk)).content.decode()
    assert "/static/assistant/widget.js" in html and f'data-key=&quot;{key.key}&quot;' in html
    data = {"name": key.name, "site": key.site, "allowed_origins": "https://a.example.com/\nnot an origin",
            "rate_per_minute": "30", "is_active": "on"}
    bad = manager_web.post(_url("publishablekey", "change", key.pk), data)
    assert bad.status_code == 200 and "is not an origin" in bad.content.decode()
    data["allowed_origins"] = "https://a.example.com/\nhttp://localhost:8000"
    assert manager_web.post(_url("publishablekey", "change", key.pk), data).status_code == 302
    key.refresh_from_db()
    assert key.allowed_origins == ["https://a.example.com", "http://localhost:8000"]


def test_knowledge_chunks_are_read_only(manager_web: Client, knowledge: dict[str, Any]) -> None:
    chunk = KnowledgeChunk.objects.get()
    page = manager_web.get(_url("knowledgechunk", "change", chunk.pk)).content.decode()
    assert "Is it dishwasher safe?" in page and 'name="text"' not in page
    assert manager_web.get(_url("knowledgechunk", "add")).status_code == 403


# --- fixed query counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["conversation", "handoffinbox", "unansweredquestion", "productquestion"])
def test_lists_take_a_fixed_number_of_queries(manager_web: Client, django_assert_max_num_queries: Any,
                                              model: str) -> None:
    def fill(n: int) -> None:
        for _ in range(n):
            item = unanswered()
            answered(item.message.conversation, feedback=Feedback.HELPFUL)
            product_question(product=item.product)

    url = _url(model, "changelist")
    fill(2)
    manager_web.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        assert manager_web.get(url).status_code == 200
    fill(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert manager_web.get(url).status_code == 200


def test_transcript_takes_a_fixed_number_of_queries(manager_web: Client, django_assert_max_num_queries: Any) -> None:
    conv = handed_off()
    answered(conv)
    url = _url("conversation", "change", conv.pk)
    manager_web.get(url)
    with CaptureQueriesContext(connection) as few:
        manager_web.get(url)
    for n in range(5):
        answered(conv, f"Question {n}?", feedback=Feedback.NOT_HELPFUL)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert manager_web.get(url).status_code == 200
    assert Conversation.objects.count() == 1
