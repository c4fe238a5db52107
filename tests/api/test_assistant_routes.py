"""The assistant's routes through the generic mixins (token and session callers; publishable keys are
tested in tests/assistant/): conversations, questions, feedback. Answers come from `scripted_ask`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from assistant import answering
from assistant.conversation_serializers import max_question_chars
from assistant.models import Author, Conversation, ConversationMessage
from tests.assistant.builders_api import answered, conversation, scripted_ask
from tests.catalog.builders import product

from .action_mixins import WriteActionTests
from .mixins import JSON, UNKNOWN_ID, CreateTests, GetTests, ListTests, ReadOnlyTests

pytestmark = pytest.mark.django_db

MESSAGES = "/api/v1/assistant/conversations/{parent}/messages/"


@pytest.fixture(autouse=True)
def _scripted_answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(answering, "ask", scripted_ask)
    yield


class TestAssistantConversations(ListTests, GetTests, CreateTests, ReadOnlyTests):
    url = "/api/v1/assistant/conversations/"
    model = Conversation
    builder = conversation
    refused = ("replace", "update", "delete")

    def create_payload(self) -> dict[str, Any]:
        return {"product": product(sku="KETTLE-1").sku}

    def expected_created(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "status": "open", "customer": None, "key": None}

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        sku = product().sku
        return [
            ({"product": "NO-SUCH-SKU"}, "product"),
            ({"product_id": UNKNOWN_ID}, "product_id"),
            ({"product": sku, "product_id": 1}, "product_id"),
            ({"question": ""}, "question"),
            ({"question": "x" * (max_question_chars() + 1)}, "question"),
        ]

    def test_first_question_is_answered(self, manager_client: APIClient) -> None:
        response = manager_client.post(self.url, {"question": "Can I return it?"}, format=JSON)
        assert response.status_code == 201, response.content
        assert response.json()["reply"]["citations"][0]["title"] == "Returns"

    def test_detail_shows_the_messages(self, analyst_client: APIClient) -> None:
        conv = conversation()
        answered(conv)
        body = analyst_client.get(self.detail(conv)).json()
        assert [m["author"] for m in body["messages"]] == ["shopper", "assistant"]


class TestAssistantQuestions(CreateTests):
    url = MESSAGES
    model = ConversationMessage
    parent_field = "conversation_id"

    def create_url(self) -> str:
        if not hasattr(self, "_conversation"):
            self._conversation = conversation()
        return self.url.format(parent=self._conversation.pk)

    def count(self) -> int:
        return ConversationMessage.objects.filter(author=Author.ASSISTANT).count()

    def create_payload(self) -> dict[str, Any]:
        return {"question": "Can I return it?"}

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        return [
            ({"question": ""}, "question"),
            ({"question": "x" * (max_question_chars() + 1)}, "question"),
            ({}, "question"),
            ({"question": "ok", "product": "NO-SUCH-SKU"}, "product"),
        ]

    def test_manager_creates_and_fields_round_trip(self, manager_client: APIClient) -> None:
        response = manager_client.post(self.create_url(), self.create_payload(), format=JSON)
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["conversation"] == str(self._conversation.pk) and body["answer"]
        stored = manager_client.get(f"/api/v1/assistant/conversations/{self._conversation.pk}/").json()
        assert [m["id"] for m in stored["messages"]][-1] == body["message_id"]

    def test_unknown_conversation_is_404(self, manager_client: APIClient) -> None:
        for parent in (UNKNOWN_ID, "not-a-uuid", "7d3c1f7e-0000-4000-8000-000000000000"):
            response = manager_client.post(self.url.format(parent=parent), self.create_payload(), format=JSON)
            assert response.status_code == 404, parent

    def test_only_post_is_offered(self, manager_client: APIClient) -> None:
        url = self.create_url()
        for method in ("get", "put", "patch", "delete"):
            assert getattr(manager_client, method)(url).status_code == 405, method


class TestAssistantFeedback(WriteActionTests):
    url = MESSAGES
    model = ConversationMessage
    parent_field = "conversation_id"
    action = "feedback"
    permissions = ("assistant.change_conversationmessage",)

    def make(self, like: Model | None = None) -> ConversationMessage:
        return answered(conversation())

    def action_body(self, obj: Model) -> dict[str, Any]:
        return {"helpful": True}

    def check_done(self, obj: Model, body: Any) -> None:
        assert body == {"message_id": obj.pk, "feedback": "helpful"}
        assert ConversationMessage.objects.get(pk=obj.pk).feedback == "helpful"
