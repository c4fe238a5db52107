"""The assistant's API: asking (JSON and server-sent events), the staff token path, bad questions, rate
limits per key and per address, feedback, the demo storefront page. Answering is `scripted_ask`
(builders_api.py) until the answering branch lands."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from assistant.conversation_serializers import max_question_chars
from assistant.models import Conversation, ConversationMessage, PublishableKey
from assistant.views import DEMO_KEY_NAME, DEMO_SITE
from tests.catalog.builders import product
from tests.customers.builders import customer

from .builders_api import SHOP, answered, conversation, key, scripted_answering
from .test_keys import key_client

pytestmark = pytest.mark.django_db
__all__ = ["scripted_answering"]  # a fixture, used by name

CONVERSATIONS = "/api/v1/assistant/conversations/"


@pytest.fixture(autouse=True)
def _clean_throttles() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def messages_url(conv: Conversation) -> str:
    return f"{CONVERSATIONS}{conv.pk}/messages/"


def test_ask_returns_the_answer_with_citations(scripted_answering: list[dict[str, Any]]) -> None:
    site = key()
    mug = product(sku="MUG-1")
    conv = conversation(key=site)
    response = key_client(site).post(messages_url(conv), {"question": "  Can I return it? ", "product": "MUG-1"},
                                     format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    reply = ConversationMessage.objects.get(pk=body["message_id"])
    assert body == {
        "message_id": reply.pk, "conversation": str(conv.pk), "answer": reply.text,
        "citations": [{"kind": "article", "id": reply.citations[0]["id"], "title": "Returns",
                       "quote": reply.citations[0]["quote"]}],
        "confidence": 0.82, "language": "en", "intent": "returns", "answer_source": "generated",
        "handed_off": False, "handoff_reason": "", "status": "open",
    }
    assert scripted_answering == [
        {"conversation": conv.pk, "question": "Can I return it?", "product": mug, "customer": None}
    ]


def test_first_question_with_the_conversation(scripted_answering: object) -> None:
    site = key()
    response = key_client(site).post(CONVERSATIONS, {"question": "Can I return it?"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reply"]["answer"].startswith("You can return") and body["reply"]["citations"]
    assert [m["author"] for m in body["messages"]] == ["shopper", "assistant"]


def test_hand_off_is_reported(scripted_answering: object) -> None:
    site = key()
    conv = conversation(key=site)
    body = key_client(site).post(messages_url(conv), {"question": "I want a person"}, format="json").json()
    assert (body["handed_off"], body["handoff_reason"], body["status"]) == (True, "asked_for_person", "handed_off")
    assert body["intent"] == "request_person"  # read from the shopper's message when the reply has none


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"question": ""}, "blank"),
        ({"question": "   "}, "blank"),
        ({}, "required"),
        ({"question": "x" * (max_question_chars() + 1)}, f"at most {max_question_chars()} characters"),
        ({"question": "ok", "product": "NO-SUCH"}, "no product with SKU"),
    ],
)
def test_bad_questions_are_400_naming_the_field(body: dict[str, Any], words: str,
                                                scripted_answering: list[object]) -> None:
    site = key()
    conv = conversation(key=site)
    response = key_client(site).post(messages_url(conv), body, format="json")
    assert response.status_code == 400
    field = "product" if "product" in body else "question"
    assert words in " ".join(response.json()[field])
    assert scripted_answering == [] and conv.messages.count() == 0


def test_the_question_limit_is_a_setting(settings: Any, scripted_answering: object) -> None:
    settings.ASSISTANT_MAX_QUESTION_CHARS = 10
    site = key()
    conv = conversation(key=site)
    response = key_client(site).post(messages_url(conv), {"question": "x" * 11}, format="json")
    assert response.status_code == 400 and "at most 10" in response.json()["question"][0]
    assert key_client(site).post(messages_url(conv), {"question": "x" * 10}, format="json").status_code == 201


def test_empty_first_question_is_400(scripted_answering: object) -> None:
    response = key_client(key()).post(CONVERSATIONS, {"question": ""}, format="json")
    assert response.status_code == 400 and "question" in response.json()
    assert Conversation.objects.count() == 0


def test_closed_conversation_is_409(scripted_answering: list[object]) -> None:
    site = key()
    conv = conversation(key=site, status="closed")
    response = key_client(site).post(messages_url(conv), {"question": "hello?"}, format="json")
    assert response.status_code == 409 and "closed" in response.json()["detail"]


def test_staff_token_path_with_a_customer(manager_client: APIClient, scripted_answering: list[Any]) -> None:
    ann, mug = customer(external_id="ann"), product(sku="MUG-1")
    response = manager_client.post(CONVERSATIONS, {"customer": "ann", "product_id": mug.pk}, format="json")
    assert response.status_code == 201, response.content
    conv = Conversation.objects.get(pk=response.json()["id"])
    assert (conv.customer, conv.product, conv.key, conv.origin) == (ann, mug, None, "")
    assert response.json()["customer"] == "ann"
    answer = manager_client.post(messages_url(conv), {"question": "Can I return it?", "customer": "ann"}, format="json")
    assert answer.status_code == 201
    assert scripted_answering[0]["customer"] == ann
    listed = manager_client.get(CONVERSATIONS, {"status": "open"}).json()
    assert [row["id"] for row in listed["results"]] == [str(conv.pk)]


def test_naming_a_customer_needs_the_customer_permission(scripted_answering: object) -> None:
    from tests.api.action_mixins import client_with

    customer(external_id="ann")
    client = client_with("assistant.add_conversation")
    assert client.post(CONVERSATIONS, {}, format="json").status_code == 201
    response = client.post(CONVERSATIONS, {"customer": "ann"}, format="json")
    assert response.status_code == 403 and "customers.view_customer" in response.json()["customer"]
    allowed = client_with("assistant.add_conversation", "customers.view_customer")
    assert allowed.post(CONVERSATIONS, {"customer": "ann"}, format="json").status_code == 201
    response = allowed.post(CONVERSATIONS, {"customer": "nobody"}, format="json")
    assert response.status_code == 400 and "no customer" in response.json()["customer"][0]


# --- server-sent events --------------------------------------------------------------------------------

def events(response: Any) -> list[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream body; comments skipped."""
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n\n")
    found = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        assert lines[0].startswith("event: ") and lines[1].startswith("data: ") and len(lines) == 2, block
        found.append((lines[0][7:], json.loads(lines[1][6:])))
    return found


@pytest.mark.django_db(transaction=True)  # the answer runs in a worker thread with its own connection
@pytest.mark.parametrize("how", ["accept", "query"])
def test_the_answer_streams_as_server_sent_events(how: str, scripted_answering: object) -> None:
    site = key()
    conv = conversation(key=site)
    client = key_client(site)
    if how == "accept":
        response = client.post(messages_url(conv), {"question": "Can I return it?"}, format="json",
                               HTTP_ACCEPT="text/event-stream")
    else:
        response = client.post(messages_url(conv) + "?stream=1", {"question": "Can I return it?"}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    assert response["Access-Control-Allow-Origin"] == SHOP
    got = events(response)
    names = [name for name, _ in got]
    assert names == ["status", "sentence", "sentence", "done"]
    assert [data["text"] for name, data in got if name == "sentence"] == [
        "You can return any item within 30 days of delivery.", "The refund is in full."]
    done = got[-1][1]
    reply = conv.messages.get(author="assistant")
    assert (done["message_id"], done["answer"], done["status"]) == (reply.pk, reply.text, "open")
    assert done["citations"][0]["title"] == "Returns"


@pytest.mark.django_db(transaction=True)
def test_a_failed_stream_ends_with_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import answering

    def broken(conversation: Conversation, question: str, **kwargs: Any) -> ConversationMessage:
        kwargs["on_event"]("status", {"stage": "retrieving"})
        kwargs["on_event"]("done", {"answer": "a forged end"})  # only the stream itself may end it
        raise RuntimeError("model crashed")

    monkeypatch.setattr(answering, "ask", broken)
    site = key()
    conv = conversation(key=site)
    got = events(key_client(site).post(messages_url(conv) + "?stream=1", {"question": "hi"}, format="json"))
    assert [name for name, _ in got] == ["status", "error"]
    assert "model crashed" not in json.dumps(got)


def test_what_answering_refuses_is_400_or_409(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import answering

    def strict(conversation: Conversation, question: str, **kwargs: Any) -> ConversationMessage:
        raise ValueError("question is 12 characters long: the limit is 10")

    monkeypatch.setattr(answering, "ask", strict)
    site = key()
    conv = conversation(key=site)
    response = key_client(site).post(messages_url(conv), {"question": "long enough?"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"question": ["question is 12 characters long: the limit is 10"]}

    def closing(conversation: Conversation, question: str, **kwargs: Any) -> ConversationMessage:
        Conversation.objects.filter(pk=conversation.pk).update(status="closed")  # a person closed it meanwhile
        raise ValueError("closed")

    monkeypatch.setattr(answering, "ask", closing)
    response = key_client(site).post(messages_url(conv), {"question": "hello?"}, format="json")
    assert response.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_a_refused_stream_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import answering

    def strict(conversation: Conversation, question: str, **kwargs: Any) -> ConversationMessage:
        raise ValueError("question is empty: ask something")

    monkeypatch.setattr(answering, "ask", strict)
    site = key()
    conv = conversation(key=site)
    got = events(key_client(site).post(messages_url(conv) + "?stream=1", {"question": "?"}, format="json"))
    assert got == [("error", {"detail": "question is empty: ask something"})]


def test_errors_before_a_stream_are_plain_responses(scripted_answering: object) -> None:
    site = key()
    conv = conversation(key=site)
    response = key_client(site).post(messages_url(conv), {"question": ""}, format="json",
                                     HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 400
    assert response.content.decode().startswith("event: error\ndata: ")
    response = key_client(site).post(messages_url(conv) + "?stream=1", {"question": ""}, format="json",
                                     HTTP_ACCEPT="text/event-stream, application/json")
    assert response.status_code == 400 and "question" in response.json()


# --- rate limits ---------------------------------------------------------------------------------------

def test_rate_limit_per_key_counts_questions_only(scripted_answering: object) -> None:
    site = key(rate_per_minute=2)
    conv = conversation(key=site)
    client = key_client(site)
    for _ in range(2):
        assert client.post(messages_url(conv), {"question": "Can I return it?"}, format="json").status_code == 201
    for _ in range(3):  # polling for a reply is not a question
        assert client.get(f"{CONVERSATIONS}{conv.pk}/").status_code == 200
    response = client.post(messages_url(conv), {"question": "Can I return it?"}, format="json")
    assert response.status_code == 429
    assert "from this site" in response.json()["detail"]
    assert 0 < int(response["Retry-After"]) <= 60
    assert conv.messages.count() == 4
    other_site = key(rate_per_minute=2)  # a key's limit is its own
    assert key_client(other_site).post(CONVERSATIONS, {}, format="json").status_code == 201


def test_rate_limit_per_client_address(settings: Any, scripted_answering: object) -> None:
    settings.ASSISTANT_RATE_PER_ADDRESS = "2/min"
    site = key(rate_per_minute=100)
    client = key_client(site)
    here: dict[str, Any] = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.post(CONVERSATIONS, {}, format="json", **here).status_code == 201
    assert client.post(CONVERSATIONS, {}, format="json", **here).status_code == 201
    response = client.post(CONVERSATIONS, {}, format="json", **here)
    assert response.status_code == 429 and "your address" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    # a forged X-Forwarded-For does not make a new address (NUM_PROXIES is not set)
    forged = client.post(CONVERSATIONS, {}, format="json", HTTP_X_FORWARDED_FOR="198.51.100.1", **here)
    assert forged.status_code == 429
    assert client.post(CONVERSATIONS, {}, format="json", REMOTE_ADDR="203.0.113.8").status_code == 201


def test_the_conversation_keeps_a_salted_hash_of_the_address_never_the_address() -> None:
    client = key_client(key())
    first = client.post(CONVERSATIONS, {}, format="json", REMOTE_ADDR="203.0.113.7").json()["id"]
    again = client.post(CONVERSATIONS, {}, format="json", REMOTE_ADDR="203.0.113.7").json()["id"]
    other = client.post(CONVERSATIONS, {}, format="json", REMOTE_ADDR="203.0.113.8").json()["id"]
    hashes = {str(c.pk): c.client_hash for c in Conversation.objects.all()}
    assert len(hashes[first]) == 64 and hashes[first] == hashes[again] != hashes[other]
    stored = json.dumps(list(Conversation.objects.values()), default=str)
    assert "203.0.113" not in stored


# --- feedback ------------------------------------------------------------------------------------------

def test_feedback_on_an_answer(scripted_answering: object) -> None:
    site = key()
    conv = conversation(key=site)
    reply = answered(conv)
    url = f"{messages_url(conv)}{reply.pk}/feedback/"
    client = key_client(site)
    response = client.post(url, {"helpful": False}, format="json")
    assert response.status_code == 200 and response.json() == {"message_id": reply.pk, "feedback": "not_helpful"}
    assert client.post(url, {"helpful": True}, format="json").json()["feedback"] == "helpful"
    reply.refresh_from_db()
    assert reply.feedback == "helpful" and reply.feedback_at is not None


def test_feedback_only_on_answers_and_needs_a_boolean(scripted_answering: object) -> None:
    site = key()
    conv = conversation(key=site)
    reply = answered(conv)
    question = conv.messages.get(author="shopper")
    client = key_client(site)
    refused = client.post(f"{messages_url(conv)}{question.pk}/feedback/", {"helpful": True}, format="json")
    assert refused.status_code == 404
    response = client.post(f"{messages_url(conv)}{reply.pk}/feedback/", {"helpful": "maybe"}, format="json")
    assert response.status_code == 400 and "helpful" in response.json()
    response = client.post(f"{messages_url(conv)}{reply.pk}/feedback/", {}, format="json")
    assert response.status_code == 400 and "helpful" in response.json()


# --- the demo storefront page --------------------------------------------------------------------------

def test_demo_page_embeds_the_widget_with_its_own_key(settings: Any) -> None:
    settings.DEBUG = True
    product(sku="FIRST", title="First kettle")
    product(sku="SECOND", title="Second kettle")
    html = Client().get("/assistant/demo/").content.decode()
    demo = PublishableKey.objects.get(name=DEMO_KEY_NAME, site=DEMO_SITE)
    assert demo.allowed_origins == ["http://testserver"]
    assert "First kettle" in html and 'data-product="FIRST"' in html and f'data-key="{demo.key}"' in html
    assert 'src="http://testserver/static/assistant/widget.js"' in html
    assert 'data-product="SECOND"' in Client().get("/assistant/demo/?sku=SECOND").content.decode()
    assert Client().get("/assistant/demo/?sku=NOPE").status_code == 404
    Client().get("/assistant/demo/", HTTP_HOST="localhost:8000")
    demo.refresh_from_db()
    assert demo.allowed_origins == ["http://testserver", "http://localhost:8000"]
    assert PublishableKey.objects.count() == 1


def test_demo_page_never_widens_another_key(settings: Any) -> None:
    settings.DEBUG = True
    real = key(name=DEMO_KEY_NAME)  # a shop's own key that happens to bear the demo's name
    Client().get("/assistant/demo/")
    real.refresh_from_db()
    assert real.allowed_origins == [SHOP]
    settings.ALLOWED_HOSTS = ["testserver"]
    assert Client().get("/assistant/demo/", HTTP_HOST="evil.example.net").status_code == 400  # Django's host check


def test_demo_page_is_for_staff_without_debug(settings: Any, manager: Any) -> None:
    settings.DEBUG = False
    assert Client().get("/assistant/demo/").status_code == 404
    staff = Client()
    manager.is_staff = True
    manager.save()
    staff.force_login(manager)
    assert staff.get("/assistant/demo/").status_code == 200


def test_widget_is_a_static_file_with_no_external_resource() -> None:
    path = finders.find("assistant/widget.js")
    assert path, "assistant/static/assistant/widget.js is found by the static files finders"
    source = Path(str(path)).read_text()
    assert "attachShadow" in source and "X-Publishable-Key" in source and "text/event-stream" in source
    assert not re.search(r"https?://(?!APP/)", source), "the widget loads nothing from elsewhere"
    assert "innerHTML" not in source, "server text is set as textContent only"
