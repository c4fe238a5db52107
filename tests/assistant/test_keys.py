"""Publishable keys: they can only ask, only from their allowed origins, only about their own conversations;
CORS preflights and headers for the assistant's endpoints only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from assistant.models import Conversation, PublishableKey
from tests.catalog.builders import product
from tests.customers.builders import customer
from tests.jobs.builders import job

from .builders_api import SHOP, answered, conversation, key, scripted_answering

pytestmark = pytest.mark.django_db
__all__ = ["scripted_answering"]  # a fixture, used by name

CONVERSATIONS = "/api/v1/assistant/conversations/"


@pytest.fixture(autouse=True)
def _clean_throttles() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def key_client(pk: PublishableKey, origin: str | None = SHOP) -> APIClient:
    client = APIClient()
    headers = {"HTTP_X_PUBLISHABLE_KEY": pk.key}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    client.credentials(**headers)
    return client


def test_key_starts_a_conversation_from_an_allowed_origin() -> None:
    site = key()
    response = key_client(site).post(CONVERSATIONS, {"product": product(sku="MUG-1").sku}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["product"], body["messages"], body["reply"]) == ("open", "MUG-1", [], None)
    assert not {"customer", "key", "origin"} & set(body)  # what the key's public caller does not see
    stored = Conversation.objects.get(pk=body["id"])
    assert (stored.key, stored.origin, stored.customer) == (site, SHOP, None)
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in response["Vary"]


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("https://evil.example.net", "origin https://evil.example.net is not allowed"),
        ("http://shop.example.com", "origin http://shop.example.com is not allowed"),  # another scheme
        ("https://shop.example.com:8443", "origin https://shop.example.com:8443"),  # another port
        ("null", "no Origin header"),  # sandboxed frames and file: pages
        (None, "no Origin header"),
    ],
)
def test_other_or_missing_origins_are_refused(origin: str | None, words: str) -> None:
    response = key_client(key(), origin).post(CONVERSATIONS, {}, format="json")
    assert response.status_code == 403
    assert words in response.json()["detail"]
    assert "Access-Control-Allow-Origin" not in response
    assert Conversation.objects.count() == 0


def test_same_origin_get_without_origin_uses_the_referer() -> None:
    """Browsers send no Origin on a same-origin GET (the demo page polling its conversation)."""
    site = key()
    conv = conversation(key=site)
    client = APIClient()
    client.credentials(HTTP_X_PUBLISHABLE_KEY=site.key, HTTP_REFERER=f"{SHOP}/products/mug?x=1")
    assert client.get(f"{CONVERSATIONS}{conv.pk}/").status_code == 200
    client.credentials(HTTP_X_PUBLISHABLE_KEY=site.key, HTTP_REFERER="https://evil.example.net/")
    assert client.get(f"{CONVERSATIONS}{conv.pk}/").status_code == 403


def test_inactive_and_unknown_keys_are_401() -> None:
    off = key(is_active=False)
    response = key_client(off).post(CONVERSATIONS, {}, format="json")
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]
    assert response["Access-Control-Allow-Origin"] == SHOP  # the widget may read why
    unknown = APIClient()
    unknown.credentials(HTTP_X_PUBLISHABLE_KEY="pk_nope", HTTP_ORIGIN=SHOP)
    response = unknown.post(CONVERSATIONS, {}, format="json")
    assert response.status_code == 401 and "unknown publishable key" in response.json()["detail"]
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["/api/v1/customers/", "/api/v1/products/", "/api/v1/jobs/", "/api/v1/reviews/", "/api/v1/campaigns/",
     "/api/v1/events/", "/api/v1/"],
)
def test_a_key_reads_nothing_else(url: str) -> None:
    customer(), product(), job()
    response = key_client(key()).get(url)
    assert response.status_code == 401, (url, response.status_code)  # the header means nothing there
    assert "Access-Control-Allow-Origin" not in response


def test_a_key_writes_nothing_else() -> None:
    response = key_client(key()).post("/api/v1/products/", {"sku": "X", "title": "Y"}, format="json")
    assert response.status_code == 401


def test_a_key_cannot_list_conversations() -> None:
    site = key()
    conversation(key=site)
    response = key_client(site).get(CONVERSATIONS)
    assert response.status_code == 403


def test_a_key_reads_its_own_conversation_with_staff_replies(scripted_answering: object) -> None:
    site = key()
    conv = conversation(key=site)
    reply = answered(conv)
    conv.messages.create(author="staff", text="Hello, Sam from the shop here.")
    body = key_client(site).get(f"{CONVERSATIONS}{conv.pk}/").json()
    assert [m["author"] for m in body["messages"]] == ["shopper", "assistant", "staff"]
    assert body["messages"][1]["id"] == reply.pk
    assert body["messages"][1]["citations"][0].keys() == {"kind", "id", "title", "quote"}
    assert "staff_user" not in body["messages"][2]


def test_a_key_cannot_read_or_write_another_keys_conversation(scripted_answering: object) -> None:
    mine, theirs = key(), key(site="other.example.org", allowed_origins=["https://other.example.org"])
    conv = conversation(key=theirs)
    reply = answered(conv)
    anonymous_conv = conversation()  # started with a token: no key may read it
    client = key_client(mine)
    for target in (conv, anonymous_conv):
        assert client.get(f"{CONVERSATIONS}{target.pk}/").status_code == 404
        response = client.post(f"{CONVERSATIONS}{target.pk}/messages/", {"question": "hi"}, format="json")
        assert response.status_code == 404
    feedback = client.post(f"{CONVERSATIONS}{conv.pk}/messages/{reply.pk}/feedback/", {"helpful": True}, format="json")
    assert feedback.status_code == 404
    reply.refresh_from_db()
    assert reply.feedback == "" and conv.messages.count() == 2


def test_a_key_cannot_name_a_customer(scripted_answering: list[object]) -> None:
    site = key()
    shopper = customer(external_id="ann")
    client = key_client(site)
    response = client.post(CONVERSATIONS, {"customer": "ann", "question": "Where is my order?"}, format="json")
    assert response.status_code == 403
    assert "customer" in response.json()
    conv = conversation(key=site)
    response = client.post(f"{CONVERSATIONS}{conv.pk}/messages/", {"question": "hi", "customer": "ann"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"customer": "a publishable key cannot name a customer (the key is public)"}
    assert not Conversation.objects.filter(customer=shopper).exists() and scripted_answering == []


def test_a_session_cookie_gives_a_key_caller_nothing_more(manager: object) -> None:
    """The key comes first: a shopper who is also signed in to the admin is still only a key caller."""
    site = key()
    client = APIClient()
    client.force_login(manager)  # type: ignore[arg-type]
    assert client.get(CONVERSATIONS).status_code == 200  # the session alone: a campaign manager lists
    client.credentials(HTTP_X_PUBLISHABLE_KEY=site.key, HTTP_ORIGIN=SHOP)
    assert client.get(CONVERSATIONS).status_code == 403


# --- CORS --------------------------------------------------------------------------------------------------

def preflight(origin: str, path: str = CONVERSATIONS) -> Any:
    return APIClient().options(
        path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-publishable-key",
    )


def test_preflight_of_an_allowed_origin() -> None:
    key()
    response = preflight(SHOP, f"{CONVERSATIONS}00000000-0000-0000-0000-000000000000/messages/")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "X-Publishable-Key" in response["Access-Control-Allow-Headers"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
    assert {"GET", "POST"} <= {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Origin" in response["Vary"]


def test_preflight_of_other_origins_and_inactive_keys_is_refused() -> None:
    key(is_active=False, allowed_origins=["https://closed.example.com"])
    key()
    for origin in ("https://evil.example.net", "https://closed.example.com", "null"):
        response = preflight(origin)
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response


def test_cors_only_on_the_assistant_endpoints() -> None:
    key()
    response = preflight(SHOP, "/api/v1/products/")
    assert "Access-Control-Allow-Origin" not in response
    assert response.status_code in (401, 403)


def test_throttled_answers_carry_cors_and_retry_after(settings: object) -> None:
    site = key(rate_per_minute=1)
    client = key_client(site)
    assert client.post(CONVERSATIONS, {}, format="json").status_code == 201
    response = client.post(CONVERSATIONS, {}, format="json")
    assert response.status_code == 429
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert int(response["Retry-After"]) > 0
