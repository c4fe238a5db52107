"""The preview page: a variant rendered as one customer of the audience would get it (name, products,
tracked links, required text; email in the brand's template, the same rendering as the send, at a desktop
or a phone's width), with the channel's character limits beside it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from customers.models import Customer

from ..audience import AudienceError, audience_queryset, audience_sample
from ..models import Campaign, Variant
from ..personalisation import render
from ..workflow import CHANNEL_LIMITS
from .pages import CampaignPages

PREVIEW_CUSTOMERS = 12


def pick(variants: list[Variant], wanted: str | None) -> Variant | None:
    """The variant asked for by id, else the first one."""
    if wanted and wanted.isdigit():
        for variant in variants:
            if variant.pk == int(wanted):
                return variant
    return variants[0] if variants else None


class PreviewPage(CampaignPages):
    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The message as one customer of the audience would get it, for a chosen variant."""
        campaign = self._viewable(request, object_id)
        if not request.user.has_perm("customers.view_customer"):
            raise PermissionDenied
        variants = sorted(
            campaign.variants.select_related("segment", "product"),
            key=lambda v: (v.status != Variant.Status.APPROVED, v.segment_id or 0, v.product_id or 0, v.label),
        )
        variant = pick(variants, request.GET.get("variant"))
        query = request.GET.get("q", "").strip()
        audience_error = ""
        candidates: list[Customer] = []
        try:
            if query:
                candidates = list(
                    audience_queryset(campaign).filter(
                        Q(name__icontains=query) | Q(email__icontains=query) | Q(external_id__icontains=query)
                    )[:PREVIEW_CUSTOMERS]
                )
            else:
                candidates = audience_sample(campaign, PREVIEW_CUSTOMERS)
        except AudienceError as exc:
            audience_error = str(exc)
        customer: Customer | None = None
        customer_id = request.GET.get("customer", "")
        if customer_id.isdigit():
            customer = Customer.objects.filter(pk=int(customer_id)).first()
        elif candidates:
            customer = candidates[0]
        in_audience = None
        if customer is not None and not audience_error:
            in_audience = audience_queryset(campaign).filter(pk=customer.pk).exists()
            if customer not in candidates:
                candidates.insert(0, customer)
        rendered, render_error = None, ""
        if variant is not None and customer is not None:
            try:
                rendered = render(variant, customer)
            except ValueError as exc:
                render_error = str(exc)
        limit = CHANNEL_LIMITS.get(campaign.channel, {}).get("body")
        context = {
            **self._page_context(request, campaign, "preview"),
            "title": f"Preview: {campaign}",
            "variants": variants,
            "variant": variant,
            "customer": customer,
            "candidates": candidates,
            "query": query,
            "audience_error": audience_error,
            "in_audience": in_audience,
            "rendered": rendered,
            "render_error": render_error,
            "is_email": campaign.channel == Campaign.Channel.EMAIL,
            "narrow": request.GET.get("width") == "narrow",  # the email at a phone's width (its media query)
            "body_limit": limit,
            "body_length": len(rendered.body) if rendered else 0,
            "subject_limit": CHANNEL_LIMITS.get(campaign.channel, {}).get("subject"),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)
