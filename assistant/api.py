"""The assistant's HTTP API, for the storefront widget (a publishable key) and for integrations (a token or
a session with model permissions):

/assistant/conversations/                                   POST start one (optional first question); GET list
                                                            (staff only)
/assistant/conversations/{id}/                              GET the conversation with its messages (staff
                                                            replies included, so the widget shows them)
/assistant/conversations/{id}/messages/                     POST a question: the reply as JSON, or streamed as
                                                            server-sent events (Accept: text/event-stream or
                                                            ?stream=1)
/assistant/conversations/{id}/messages/{message_id}/feedback/   POST {"helpful": true|false}

A key caller sees only its own key's conversations (another's is 404) and may never name a customer: the key
is public, so a customer given with it could be anyone's. The answering itself is `answering.ask`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from access.authentication import ApiTokenAuthentication

from . import answering
from .conversation_serializers import (
    AnswerSerializer,
    ConversationDetailSerializer,
    ConversationSerializer,
    FeedbackResultSerializer,
    FeedbackSerializer,
    QuestionSerializer,
    StartedSerializer,
    StartSerializer,
    answer_data,
)
from .keys import AssistantPermission, PublishableKeyAuthentication, key_of, page_origin
from .models import Author, Conversation, ConversationMessage, ConversationStatus, Feedback
from .streaming import sse, stream_answer
from .throttles import AddressRateThrottle, KeyRateThrottle, client_hash

CUSTOMER_PERMISSION = "customers.view_customer"
ERROR = OpenApiResponse(description="`{\"detail\": ...}` or `{\"<field>\": [...]}` naming what is wrong.")
CONVERSATION_ID = OpenApiParameter("conversation_pk", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                   description="The conversation's id.")


class ConversationClosed(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the conversation is closed: start a new one"
    default_code = "closed"


class EventStreamRenderer(BaseRenderer):
    """Lets a client ask for `text/event-stream` alone: answers stream without it, and an error before the
    stream starts is one `error` event."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return sse("error", data).encode()


class AssistantView(viewsets.GenericViewSet):
    """Who may call (a token, a publishable key, a session; the 401 names Token first), what a key may
    ask (`key_actions`), which actions count as questions for the rate limits (`throttled_actions`)."""

    authentication_classes = [ApiTokenAuthentication, PublishableKeyAuthentication, SessionAuthentication]
    permission_classes = [AssistantPermission]
    throttle_classes: list[type[BaseThrottle]] = [
        KeyRateThrottle, AddressRateThrottle, *api_settings.DEFAULT_THROTTLE_CLASSES,  # type: ignore[list-item]
    ]
    key_actions: tuple[str, ...] = ()
    throttled_actions: tuple[str, ...] = ()
    staff_permissions: dict[str, tuple[str, ...]] = {}

    def check_throttles(self, request: Request) -> None:
        """As DRF's, with the message of the limit that was hit (the widget shows it)."""
        refused = [t for t in self.get_throttles() if not t.allow_request(request, self)]
        if refused:
            waits = [w for w in (t.wait() for t in refused) if w is not None]
            raise Throttled(max(waits, default=None), detail=str(getattr(refused[0], "message", "")) or None)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "key_caller": key_of(self.request) is not None}

    def refuse_customer(self, request: Request) -> None:
        """A customer may be named only by a token or session caller allowed to read customers."""
        if not isinstance(request.data, Mapping) or "customer" not in request.data:
            return  # a body that is no object is refused by the serializer
        if key_of(request) is not None:
            raise PermissionDenied({"customer": "a publishable key cannot name a customer (the key is public)"})
        if not request.user.has_perm(CUSTOMER_PERMISSION):
            raise PermissionDenied({"customer": f"naming a customer needs the permission {CUSTOMER_PERMISSION}"})


@extend_schema_view(
    list=extend_schema(
        summary="List conversations",
        description="Staff only (`assistant.view_conversation`); filter by status, hand-off reason, language.",
    ),
    retrieve=extend_schema(
        summary="Get a conversation",
        description="The conversation with every message, staff replies included. A publishable key reads "
        "only conversations started with it.",
        responses={200: ConversationDetailSerializer, 404: ERROR},
    ),
)
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AssistantView):
    """Conversations of shoppers with the assistant (and, after a hand-off, with the shop's staff)."""

    queryset = Conversation.objects.select_related("product", "customer", "key")
    serializer_class = ConversationSerializer
    filterset_fields = ["status", "handoff_reason", "language"]
    ordering_fields = ["created_at", "updated_at"]
    key_actions = ("create", "retrieve")
    throttled_actions = ("create",)
    staff_permissions = {"create": ("assistant.add_conversation",)}

    def get_queryset(self) -> QuerySet[Conversation]:
        queryset = super().get_queryset()
        key = key_of(self.request)
        if key is not None:
            queryset = queryset.filter(key=key)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("messages")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return ConversationDetailSerializer if self.action == "retrieve" else ConversationSerializer

    @extend_schema(
        summary="Start a conversation",
        description="With a publishable key (from an allowed origin) or a token. Optional: the first "
        "question, the product (SKU or id) and, for token callers allowed to read customers, the customer. "
        "The reply to a first question is in `reply`. Rate-limited per key and per client address (429 with "
        "Retry-After).",
        request=StartSerializer,
        responses={201: StartedSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 429: ERROR},
    )
    def create(self, request: Request) -> Response:
        self.refuse_customer(request)
        params = StartSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        conversation = Conversation.objects.create(
            key=key_of(request), product=data.get("product"), customer=data.get("customer"),
            origin=page_origin(request), client_hash=client_hash(request),
        )
        reply = None
        if data.get("question"):
            try:
                reply = answering.ask(
                    conversation, data["question"], product=data.get("product"), customer=data.get("customer")
                )
            except ValueError as refused:
                raise ask_refused(conversation, refused) from None
            conversation.refresh_from_db()
        context = {**self.get_serializer_context(), "reply": reply}
        body = StartedSerializer(
            Conversation.objects.prefetch_related("messages").select_related("product", "customer", "key")
            .get(pk=conversation.pk), context=context,
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[CONVERSATION_ID])
class ConversationMessageViewSet(AssistantView):
    """The questions of one conversation and feedback on its answers."""

    queryset = ConversationMessage.objects.filter(author=Author.ASSISTANT)
    serializer_class = FeedbackResultSerializer
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, EventStreamRenderer]
    pagination_class = None
    filter_backends: list[Any] = []
    key_actions = ("create", "feedback")
    throttled_actions = ("create",)
    staff_permissions = {
        "create": ("assistant.add_conversationmessage",),
        "feedback": ("assistant.change_conversationmessage",),
    }

    def conversation(self) -> Conversation:
        """The conversation of the URL, among those the caller may see (a key: its own), else 404."""
        conversations = Conversation.objects.select_related("product")
        key = key_of(self.request)
        if key is not None:
            conversations = conversations.filter(key=key)
        pk = str(self.kwargs.get("conversation_pk", ""))
        try:
            return conversations.get(pk=pk)
        except (Conversation.DoesNotExist, ValueError, DjangoValidationError):  # unknown, or not a UUID
            raise NotFound(f"no conversation {pk}") from None

    def get_queryset(self) -> QuerySet[ConversationMessage]:
        if getattr(self, "swagger_fake_view", False):
            return ConversationMessage.objects.none()
        return super().get_queryset().filter(conversation=self.conversation())

    @extend_schema(
        summary="Ask a question",
        description="Records the question and answers it from the shop's knowledge, with the cited sources, "
        "a confidence, the detected language and intent, and whether the conversation was handed off to a "
        "person (and why). With `Accept: text/event-stream` or `?stream=1` the answer streams as server-sent "
        "events: `status` (progress), `sentence` (each sentence as it is ready), then `done` carrying this "
        "same JSON, or `error`. 409 when the conversation is closed.",
        request=QuestionSerializer,
        parameters=[OpenApiParameter("stream", OpenApiTypes.BOOL, description="Stream the answer as SSE.")],
        responses={201: AnswerSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
    )
    def create(self, request: Request, conversation_pk: str | None = None) -> HttpResponseBase:
        conversation = self.conversation()
        self.refuse_customer(request)
        params = QuestionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if conversation.status == ConversationStatus.CLOSED:
            raise ConversationClosed()
        data = params.validated_data
        question, product, customer = data["question"], data.get("product"), data.get("customer")
        if wants_stream(request):
            def answer(on_event: Any) -> ConversationMessage:
                return answering.ask(conversation, question, product=product, customer=customer, on_event=on_event)

            def done(reply: ConversationMessage) -> dict[str, Any]:
                conversation.refresh_from_db()
                return answer_data(reply, conversation)

            response = StreamingHttpResponse(stream_answer(answer, done), content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
            return response
        try:
            reply = answering.ask(conversation, question, product=product, customer=customer)
        except ValueError as refused:  # answering's own limits (a race with a close, a stricter rule)
            raise ask_refused(conversation, refused) from None
        conversation.refresh_from_db()
        return Response(answer_data(reply, conversation), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rate an answer",
        description="Helpful or not, from the shopper; the admin shows it beside the answer. Only the "
        "assistant's answers take feedback; giving it again replaces it.",
        request=FeedbackSerializer,
        responses={200: FeedbackResultSerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def feedback(self, request: Request, conversation_pk: str | None = None, pk: str | None = None) -> Response:
        message = self.get_object()
        params = FeedbackSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        message.feedback = Feedback.HELPFUL if params.validated_data["helpful"] else Feedback.NOT_HELPFUL
        message.feedback_at = timezone.now()
        message.save(update_fields=["feedback", "feedback_at"])
        return Response({"message_id": message.pk, "feedback": message.feedback})


def ask_refused(conversation: Conversation, error: ValueError) -> APIException:
    """What `answering.ask` refused, as the API says it: 409 for a closed conversation, else 400 naming the
    question (answering words its ValueErrors for the shopper)."""
    conversation.refresh_from_db(fields=["status"])
    if conversation.status == ConversationStatus.CLOSED:
        return ConversationClosed()
    return ValidationError({"question": [str(error)]})


def wants_stream(request: Request) -> bool:
    return (
        request.query_params.get("stream", "").lower() in {"1", "true", "yes"}
        or "text/event-stream" in request.META.get("HTTP_ACCEPT", "")
    )
