"""What the campaign admin tests read: a campaign page's URL and the messages a request left."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.models import Campaign


def page(name: str, campaign: Campaign) -> str:
    """The URL of one of the campaign's admin pages: change, transition, review, preview or results."""
    return reverse(f"admin:campaigns_campaign_{name}", args=[campaign.pk])


def messages(response: Any) -> list[str]:
    """The messages (success, warning, error) the admin showed after the request."""
    return [str(m) for m in get_messages(response.wsgi_request)]
