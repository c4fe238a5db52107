"""Test sends (proofs): the campaign's variants, rendered as a customer would get them, emailed to the manager.

A proof is a plain email to the manager (or a list of addresses), outside the experiment: no `Message`, no
assignment, no exposure event, so it never counts in the results. It is rendered for a sample customer who is
not stored ("Alex Sample", the campaign's own products instead of someone's recommendations), so no customer's
personal data leaves in a test mail. The subject starts with "[TEST]", an `X-Test-Send` header marks it, and its
unsubscribe link and headers are the harmless test token (`customers.unsubscribe`). SMS and push copy is
emailed as text. It goes through the same rendering as the real send (`personalisation.render`: the brand's
template, the plain text read from it, the Reply-To). The step (who may, to whom, the audit entry) is
`campaigns.actions.do_test_send`.

A real send starts only after a test of what it will send (`untested_variants`): each tested variant's
`fingerprint` (its subject, preheader and body, the campaign's template fields that shape the email, and the
brand) is stored on the campaign; editing the copy, the offer, the landing page or the brand changes the
fingerprint, and the send step asks for a new test.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from customers.models import Customer
from customers.unsubscribe import list_unsubscribe_headers, unsubscribe_url

from .brand import current_brand, fingerprint_fields
from .delivery import DeliveryError, mail_domain, reply_to
from .models import Arm, Brand, Campaign, Variant
from .personalisation import render

PREFIX = "[TEST]"
MAX_VARIANTS = 10  # one mail per variant; a campaign personalised per customer has many, the first ten show enough
SAMPLE_NAME = "Alex Sample"
_ORDER: dict[str, int] = {Variant.Status.APPROVED: 0, Variant.Status.IN_REVIEW: 1, Variant.Status.FLAGGED: 2}


def proof_variants(campaign: Campaign) -> list[Variant]:
    """The variants worth a look: approved first, then in review and flagged; never rejected ones."""
    variants = [v for v in campaign.variants.order_by("label", "pk") if v.status in _ORDER]
    variants.sort(key=lambda v: _ORDER[v.status])
    return variants[:MAX_VARIANTS]


def sample_customer(campaign: Campaign, address: str) -> Customer:
    """An unsaved customer to personalise with: a plain name, the manager's address, the campaign's language."""
    return Customer(name=SAMPLE_NAME, email=address, locale=campaign.language or "en", marketing_consent=True)


def fingerprint(campaign: Campaign, variant: Variant, brand: Brand) -> str:
    """What a test of this variant showed, as a short hash: its copy, the campaign's fields that shape the
    email (offer, landing page, required text, sign-off, products) and the brand."""
    shown = [
        variant.pk, variant.subject, variant.preheader, variant.body, variant.product_id,
        campaign.channel, campaign.offer, campaign.landing_url, campaign.required_text, campaign.sign_off,
        campaign.recommend_products, sorted(campaign.products.values_list("pk", flat=True)),
        list(fingerprint_fields(brand)),
    ]
    discount = _discount_arm(campaign, variant)
    if discount is not None:  # only a discount shows: arms made at the send's start without one change nothing
        shown.append(str(discount.discount_percent))
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:24]


def _discount_arm(campaign: Campaign, variant: Variant) -> Arm | None:
    """The arm of the campaign's experiment that sends `variant` with a discount, if one does."""
    return (
        Arm.objects.filter(experiment__campaign=campaign, variant=variant, discount_percent__gt=0)
        .order_by("pk").first()
    )


def untested_variants(campaign: Campaign) -> list[str]:
    """Labels of the approved variants a send would use whose current email no test send showed (the
    first `MAX_VARIANTS` approved ones: those a test sends)."""
    brand = current_brand()
    tested = set(campaign.tested_copy or [])
    approved = [v for v in proof_variants(campaign) if v.status == Variant.Status.APPROVED]
    return [v.label for v in approved if fingerprint(campaign, v, brand) not in tested]


def _proof(campaign: Campaign, variant: Variant, addresses: list[str], brand: Brand) -> EmailMultiAlternatives:
    variant.campaign = campaign
    rendered = render(variant, sample_customer(campaign, addresses[0]), unsubscribe=unsubscribe_url(None),
                      brand=brand, arm=_discount_arm(campaign, variant))  # the offer block as the send shows it
    channel = campaign.get_channel_display()
    if campaign.channel == Campaign.Channel.EMAIL:
        subject = f"{PREFIX} {rendered.subject}"
    else:
        title = f": {rendered.subject}" if rendered.subject else ""
        subject = f"{PREFIX} {channel} of {campaign.name} (variant {variant.label}){title}"
    email = EmailMultiAlternatives(
        subject=subject,
        body=rendered.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
        reply_to=reply_to(brand),
        headers={
            "Message-ID": make_msgid(domain=mail_domain()),
            "X-Test-Send": "1",
            "X-Campaign-Id": str(campaign.pk),
            "X-Variant": variant.label,
            **list_unsubscribe_headers(None),
        },
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    return email


def send_proofs(campaign: Campaign, addresses: list[str]) -> tuple[list[str], list[str]]:
    """Email one proof per variant (`proof_variants`) to `addresses`; returns the variants' labels and their
    fingerprints. Raises DeliveryError when the mail server refuses or cannot be reached."""
    variants = proof_variants(campaign)
    if not variants:
        raise DeliveryError("the campaign has no variants to test yet: generate or write copy first")
    brand = current_brand()
    mails = [_proof(campaign, v, addresses, brand) for v in variants]
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(mails)
    except Exception as exc:  # the mail server's words are the reason the manager needs
        raise DeliveryError(f"the test could not be sent: {exc}") from exc
    return [v.label for v in variants], [fingerprint(campaign, v, brand) for v in variants]
