"""Conversations in the admin: the list (status, hand-off reason, feedback counts), the transcript page with
the cited sources beside each answer, and the hand-off inbox (handed-off conversations, oldest first) with
assign, reply, close and reopen.

Every change is a step of `assistant.inbox`; a refusal shows the step's own message. Someone who may not
handle conversations (an analyst) reads the same pages without the forms. Lists and the transcript take a
fixed number of queries, whatever the number of rows (annotations, select_related).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from core.actors import has_perm
from core.large_lists import LargeListAdmin

from .. import inbox
from ..models import (
    Author,
    Conversation,
    ConversationMessage,
    ConversationStatus,
    Feedback,
    HandoffInbox,
)
from .formatting import DASH, STATUS_COLOURS, age, badge, excerpt, score

TRANSCRIPT_TEMPLATE = "admin/assistant/conversation/transcript.html"
REFUSED_TEMPLATE = "admin/assistant/refused.html"


class FeedbackFilter(admin.SimpleListFilter):
    """Conversations with at least one answer marked helpful / not helpful (or none marked)."""

    title = "feedback"
    parameter_name = "feedback"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(Feedback.HELPFUL, "some helpful"), (Feedback.NOT_HELPFUL, "some not helpful"), ("none", "none given")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        rated = ConversationMessage.objects.exclude(feedback="")
        if value in Feedback.values:
            return queryset.filter(pk__in=rated.filter(feedback=value).values("conversation"))
        if value == "none":
            return queryset.exclude(pk__in=rated.values("conversation"))
        return queryset


def _last_question() -> Subquery:
    shopper = ConversationMessage.objects.filter(conversation=OuterRef("pk"), author=Author.SHOPPER)
    return Subquery(shopper.order_by("-created_at", "-id").values("text")[:1])


def handlers() -> QuerySet[User]:
    """The people a conversation can be given to (one query): active staff who may change conversations."""
    app_label, codename = inbox.HANDLE_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(user_permissions__in=permission) | Q(groups__permissions__in=permission))
        .distinct()
        .order_by("username")
    )


@admin.register(Conversation)
class ConversationAdmin(LargeListAdmin, admin.ModelAdmin[Conversation]):
    list_display = [
        "short_id", "created_at", "status_badge", "handoff_reason", "product", "language", "assigned_to",
        "message_count", "helpful", "not_helpful", "last_question",
    ]
    list_display_links = ["short_id"]
    list_filter = ["status", "handoff_reason", FeedbackFilter, "language", "key"]
    list_select_related = ["product", "assigned_to"]
    search_fields = ["messages__text", "product__sku", "product__title"]
    date_hierarchy = "created_at"
    actions = ["assign_to_me", "close_conversations"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).annotate(
            _messages=Count("messages", distinct=True),
            _helpful=Count("messages", filter=Q(messages__feedback=Feedback.HELPFUL), distinct=True),
            _not_helpful=Count("messages", filter=Q(messages__feedback=Feedback.NOT_HELPFUL), distinct=True),
            _last_question=_last_question(),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # conversations start in the widget or the API

    # -- columns --

    @admin.display(description="conversation")
    def short_id(self, conversation: Conversation) -> str:
        return str(conversation.pk)[:8]

    @admin.display(description="status", ordering="status")
    def status_badge(self, conversation: Conversation) -> SafeString:
        return badge(conversation.get_status_display().split(":")[0], STATUS_COLOURS.get(conversation.status, "#777"))

    @admin.display(description="messages", ordering="_messages")
    def message_count(self, conversation: Conversation) -> int:
        return getattr(conversation, "_messages", 0)

    @admin.display(description="👍 helpful", ordering="_helpful")
    def helpful(self, conversation: Conversation) -> int:
        return getattr(conversation, "_helpful", 0)

    @admin.display(description="👎 not helpful", ordering="_not_helpful")
    def not_helpful(self, conversation: Conversation) -> int:
        return getattr(conversation, "_not_helpful", 0)

    @admin.display(description="last question")
    def last_question(self, conversation: Conversation) -> str:
        return excerpt(getattr(conversation, "_last_question", ""), 80)

    # -- bulk actions: each conversation goes through the inbox step --

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        user = request.user if isinstance(request.user, User) else None
        self._bulk(request, queryset, lambda c: inbox.do_assign(c, user, request.user), "assigned to you")

    @admin.action(description="Close", permissions=["change"])
    def close_conversations(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        self._bulk(request, queryset, lambda c: inbox.do_close(c, request.user), "closed")

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Conversation], step: Any, done: str) -> None:
        ok = 0
        for conversation in queryset:
            try:
                step(conversation)
                ok += 1
            except (inbox.InboxError, PermissionDenied) as exc:
                self.message_user(request, f"{conversation}: {exc}", messages.ERROR)
        if ok:
            self.message_user(request, f"{ok} conversation(s) {done}.", messages.SUCCESS)

    # -- the transcript page --

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_inbox"
        own = [path("<uuid:object_id>/inbox/", self.admin_site.admin_view(self.inbox_view), name=name)]
        return own + super().get_urls()

    def _url(self, name: str, *args: Any) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=args)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The transcript instead of a form: a conversation changes only through the inbox steps."""
        conversation = self._conversation(request, object_id)
        can_handle = has_perm(request.user, inbox.HANDLE_PERMISSION)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Conversation {str(conversation.pk)[:8]}",
            "conversation": conversation,
            "original": conversation,
            "status_badge": self.status_badge(conversation),
            "turns": transcript(conversation),
            "can_handle": can_handle,
            "handlers": list(handlers()) if can_handle else [],
            "action_url": self._url("inbox", conversation.pk),
            "changelist_url": self._url("changelist"),
            "waiting": age(conversation.handed_off_at) if conversation.handed_off_at else "",
            **(extra_context or {}),
        }
        return TemplateResponse(request, TRANSCRIPT_TEMPLATE, context)

    def _conversation(self, request: HttpRequest, object_id: str) -> Conversation:
        try:
            conversation = (
                Conversation.objects.select_related("product", "customer", "assigned_to", "key").get(pk=object_id)
            )
        except (Conversation.DoesNotExist, ValueError, TypeError) as exc:
            raise Http404(f"no conversation {object_id}") from exc
        if not self.has_view_permission(request, conversation):
            raise PermissionDenied
        return conversation

    def inbox_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What the transcript page's forms post: assign (to me, to someone, nobody), reply, close, reopen."""
        conversation = self._conversation(request, object_id)
        change_url = self._url("change", conversation.pk)
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        action, user = request.POST.get("action", ""), request.user
        try:
            if action == "assign":
                to = request.POST.get("to", "")
                target = None if to == "" else User.objects.filter(pk=to).first()
                if to and target is None:
                    raise inbox.InboxError(f"no user with id {to}")
                inbox.do_assign(conversation, target, user)
                done = f"Assigned to {target}." if target else "Unassigned."
            elif action == "assign_me":
                inbox.do_assign(conversation, user if isinstance(user, User) else None, user)
                done = "Assigned to you."
            elif action == "reply":
                inbox.do_reply(conversation, request.POST.get("text", ""), user)
                done = "Reply sent: the shopper sees it in the chat."
            elif action == "close":
                inbox.do_close(conversation, user)
                done = "Conversation closed."
            elif action == "reopen":
                inbox.do_reopen(conversation, user)
                done = "Conversation reopened."
            else:
                raise inbox.InboxError(f"unknown action {action!r}")
        except inbox.InboxError as exc:
            self.message_user(request, f"Not done: {exc}.", messages.ERROR)
        except PermissionDenied as exc:
            context = {
                **self.admin_site.each_context(request), "opts": self.opts, "title": "Not allowed",
                "reason": str(exc), "back_url": change_url,
            }
            return TemplateResponse(request, REFUSED_TEMPLATE, context, status=403)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(change_url)


def transcript(conversation: Conversation) -> list[dict[str, Any]]:
    """The turns in order (one query), each with what the page shows beside it: for a shopper's question the
    intent, language and searched query; for an answer its sources (kind, title, quoted span, score),
    confidence, how it was written, hand-off and feedback."""
    rows = list(
        conversation.messages.select_related("staff_user", "generation_model", "unanswered")
        .order_by("created_at", "id")
    )
    turns = []
    for message in rows:
        citations = [c for c in message.citations if isinstance(c, dict)] if isinstance(message.citations, list) else []
        turns.append({
            "message": message,
            "sources": [
                {
                    "kind": str(c.get("kind", "")), "title": str(c.get("title", "")),
                    "quote": str(c.get("quote", "")), "score": score(c.get("score")), "id": c.get("id"),
                }
                for c in citations
            ],
            "confidence": score(message.confidence),
            "unanswered": getattr(message, "unanswered", None) if message.author == Author.SHOPPER else None,
        })
    return turns


@admin.register(HandoffInbox)
class HandoffInboxAdmin(ConversationAdmin):
    """Handed-off conversations that are not closed, the longest waiting first."""

    list_display = [
        "short_id", "waiting_since", "handoff_reason", "last_question", "product", "assigned_to", "message_count",
    ]
    list_filter = ["handoff_reason", "assigned_to"]
    date_hierarchy = None  # type: ignore[assignment]  # the inbox is short: no date drill-down
    ordering = ["handed_off_at", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).filter(status=ConversationStatus.HANDED_OFF)

    @admin.display(description="waiting since", ordering="handed_off_at")
    def waiting_since(self, conversation: Conversation) -> str:
        at = conversation.handed_off_at
        return DASH if at is None else f"{at:%Y-%m-%d %H:%M} ({age(at)} ago)"
