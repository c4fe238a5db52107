"""What every page of a campaign shares: the tabs (brief, review, preview, results), the status badge and
the workflow buttons, and the view each button posts to.

A button is one step of `campaigns.actions` (`do_move`: generating and running also queue their jobs);
a refusal is shown with the step's own message (messages framework). "Start (send)" first shows a
confirmation page naming the number of recipients ("Send to 1,203 customers?"), whose button posts that
number back (`confirm_recipients`, checked again by the step); "Send a test to me" emails the variants to
the manager (`do_test_send`). Someone who may not change the
campaign (an analyst) sees no buttons, and a forged post gets a 403 page with the same message the API
answers with.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from jobs.runner import UnknownJobKind

from ..actions import REFUSALS, check_move, do_move, do_test_send
from ..delivery import recipients_now
from ..models import Campaign
from ..workflow import ALLOWED
from .formatting import STATUS_COLOURS, badge

Status = Campaign.Status

# What each allowed move is called on its button; a move to finished from anything but running is a cancel.
TRANSITION_LABELS: dict[tuple[str, str], str] = {
    (Status.DRAFT, Status.GENERATING): "Generate copy",
    (Status.DRAFT, Status.IN_REVIEW): "Submit for review",
    (Status.GENERATING, Status.IN_REVIEW): "Submit for review",
    (Status.GENERATING, Status.DRAFT): "Back to draft",
    (Status.IN_REVIEW, Status.APPROVED): "Approve",
    (Status.IN_REVIEW, Status.DRAFT): "Back to draft (regenerate)",
    (Status.APPROVED, Status.RUNNING): "Start (send)",
    (Status.APPROVED, Status.IN_REVIEW): "Reopen review",
    (Status.RUNNING, Status.FINISHED): "Finish",
}
REFUSED_TEMPLATE = "admin/campaigns/campaign/refused.html"
CONFIRM_SEND_TEMPLATE = "admin/campaigns/campaign/confirm_send.html"


def transition_label(current: str, to: str) -> str:
    return TRANSITION_LABELS.get((current, to), "Cancel campaign" if to == Status.FINISHED else f"Move to {to}")


class CampaignPages(admin.ModelAdmin[Campaign]):
    """The campaign admin's shared part; the change, review, preview and results pages build on it."""

    @admin.display(description="status", ordering="status")
    def status_badge(self, campaign: Campaign) -> SafeString:
        return badge(campaign.get_status_display(), STATUS_COLOURS.get(campaign.status, "#777"))

    def _viewable(self, request: HttpRequest, object_id: int) -> Campaign:
        campaign = get_object_or_404(Campaign, pk=object_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def refused(self, request: HttpRequest, campaign: Campaign, exc: PermissionDenied) -> TemplateResponse:
        """403, with the reason the step gave (a bare 403 would not say what to do)."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Not allowed", "campaign": campaign, "reason": str(exc), "opts": self.model._meta,
        }
        return TemplateResponse(request, REFUSED_TEMPLATE, context, status=403)

    def _page_context(self, request: HttpRequest, campaign: Campaign, page: str = "change") -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "campaign": campaign,
            "original": campaign,
            "page": page,
            "status_badge": self.status_badge(campaign),
            "can_change": self.has_change_permission(request, campaign),
            "tabs": [
                ("change", "Brief", reverse("admin:campaigns_campaign_change", args=[campaign.pk])),
                ("review", "Review", reverse("admin:campaigns_campaign_review", args=[campaign.pk])),
                ("preview", "Preview", reverse("admin:campaigns_campaign_preview", args=[campaign.pk])),
                ("results", "Results", reverse("admin:campaigns_campaign_results", args=[campaign.pk])),
                ("discounts", "Discounts", reverse("admin:campaigns_campaign_discounts", args=[campaign.pk])),
            ],
        }

    # -- workflow --

    def workflow_buttons(self, request: HttpRequest, campaign: Campaign) -> list[dict[str, Any]]:
        """The moves allowed from the current status, each with why it would be refused now (if it would)."""
        if not self.has_change_permission(request, campaign):
            return []
        targets = sorted(ALLOWED.get(campaign.status, set()), key=lambda s: Status.values.index(s))
        if campaign.status == Status.IN_REVIEW:
            # in review -> generating is no edge of its own: the step goes through draft (actions.do_generate)
            targets.insert(0, Status.GENERATING)
        buttons = []
        for to in targets:
            try:
                check_move(campaign, to, request.user)
                blocked = ""
            except REFUSALS as exc:
                blocked = str(exc)
            except PermissionDenied as exc:
                blocked = str(exc)
            cancel = to == Status.FINISHED and campaign.status != Status.RUNNING
            regenerate = campaign.status == Status.IN_REVIEW and to == Status.GENERATING
            buttons.append({
                "to": to,
                "label": "Regenerate unapproved copy" if regenerate else transition_label(campaign.status, to),
                "blocked": blocked,
                "needs_note": cancel,
                "danger": cancel or to == Status.DRAFT,
            })
        return buttons

    def apply_transition(
        self, request: HttpRequest, campaign: Campaign, to: str, note: str = "", confirm_recipients: int | None = None
    ) -> bool:
        """Make one step (`actions.do_move`) and say what happened; a refusal is shown with its reason.
        PermissionDenied is left to the caller."""
        try:
            job = do_move(campaign, to, request.user, note, confirm_recipients=confirm_recipients)
        except REFUSALS as exc:
            self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            return False
        except UnknownJobKind as exc:
            self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            return False
        if job is None:
            done = format_html("{}: {}.", campaign, Status(to).label.lower())
        else:
            what = "copy generation started" if to == Status.GENERATING else "started; sending"
            url = reverse("admin:jobs_job_change", args=[job.pk])
            done = format_html('{}: {} (<a href="{}">job {}</a>).', campaign, what, url, job.pk)
        self.message_user(request, done, messages.SUCCESS)
        return True

    def transition_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._viewable(request, object_id)
        change_url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        to = request.POST.get("to", "")
        note = request.POST.get("note", "").strip()
        raw_confirm = request.POST.get("confirm_recipients", "")
        if to not in Status.values:
            self.message_user(request, f"Unknown status {to!r}.", messages.ERROR)
        elif self._is_send(campaign, to) and not raw_confirm:
            return self.confirm_send(request, campaign, note)
        else:
            confirm = int(raw_confirm) if raw_confirm.isdigit() else None
            try:
                self.apply_transition(request, campaign, to, note, confirm)
            except PermissionDenied as exc:
                return self.refused(request, campaign, exc)
        next_url = request.POST.get("next", "")
        own = next_url.startswith(reverse("admin:campaigns_campaign_changelist"))
        return HttpResponseRedirect(next_url if own else change_url)

    # -- sending: the confirmation page and the test send --

    @staticmethod
    def _is_send(campaign: Campaign, to: str) -> bool:
        return to == Status.RUNNING and campaign.status == Status.APPROVED

    def confirm_send(self, request: HttpRequest, campaign: Campaign, note: str) -> HttpResponse:
        """"Send to 1,203 customers?": the step's checks first (a refusal is shown as for any button), then
        the number the send would reach now, which the page's button posts back."""
        try:
            check_move(campaign, Status.RUNNING, request.user)
        except PermissionDenied as exc:
            return self.refused(request, campaign, exc)
        except REFUSALS as exc:
            self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
        recipients = recipients_now(campaign)
        context = {
            **self._page_context(request, campaign),
            "title": f"Send to {recipients:,} customer{'s' if recipients != 1 else ''}?",
            "recipients": recipients,
            "recipients_text": f"{recipients:,}",
            "note": note,
            "test_address": getattr(request.user, "email", ""),
        }
        return TemplateResponse(request, CONFIRM_SEND_TEMPLATE, context)

    def test_send_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        campaign = self._viewable(request, object_id)
        change_url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        try:
            sent = do_test_send(campaign, request.user, request.POST.get("to", ""))
        except PermissionDenied as exc:
            return self.refused(request, campaign, exc)
        except REFUSALS as exc:
            self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
        else:
            done = f"{campaign}: test sent to {', '.join(sent.addresses)} (variants {', '.join(sent.variants)})."
            self.message_user(request, done, messages.SUCCESS)
        next_url = request.POST.get("next", "")
        return HttpResponseRedirect(next_url if next_url.startswith(change_url) else change_url)
