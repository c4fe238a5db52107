"""What a piece of copy is checked against, read from the database: the allowed text (brief, offer,
required text, product facts, review insight, segment labels), the product's latest reviews, and the names of
customers the copy must not leak. The guardrails themselves are pure (`campaigns.guardrails`); this is where
their `GuardrailContext` comes from, for generation and for a person's edit in review alike."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.conf import settings
from django.db.models import Q

from catalog.models import Product, ProductInsight, Review
from customers.models import Customer, Segment
from inference.grounding import allowed_text

from ..channels import Copy
from ..guardrails import GuardrailContext, Result, check_copy
from ..models import Campaign, Variant
from ..prompts import insight_labels, insight_lines, product_facts, segment_labels, segment_lines
from .parts import template_texts
from .planning import Group

REVIEWS_COMPARED = 300  # latest reviews of the product the copy is compared with (n-gram overlap)
_NAME_SPAN = re.compile(r"\b[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){1,2}\b")


def product_insight(product: Product | None) -> ProductInsight | None:
    return ProductInsight.objects.filter(product=product).first() if product is not None else None


def review_texts(product: Product | None) -> list[str]:
    """The product's latest REVIEWS_COMPARED reviews, title and text: copy must not repeat their words."""
    if product is None:
        return []
    rows = Review.objects.filter(product=product).order_by("-created_at").values_list("title", "text")
    return [f"{title}. {text}" if title else text for title, text in rows[:REVIEWS_COMPARED]]


def other_customer_names(texts: Sequence[str], product: Product | None, recipient: Customer | None) -> frozenset[str]:
    """Full names of customers, other than the recipient, that the copy might leak: reviewers of the
    product, and any customer whose full name equals a capitalised two- or three-word span of the copy."""
    candidates = {span for text in texts for span in _NAME_SPAN.findall(text)}
    names = Customer.objects.exclude(name="").filter(
        Q(name__in=candidates) | Q(reviews__product=product) if product is not None else Q(name__in=candidates)
    )
    if recipient is not None:
        names = names.exclude(pk=recipient.pk)
    return frozenset(n for n in names.values_list("name", flat=True).distinct()[:500] if len(n.split()) >= 2)


def allowed_parts(campaign: Campaign, group: Group, insight: ProductInsight | None) -> list[str]:
    """What the copy may state: brief, offer, required text, landing URL, product facts, review counts and
    segment labels (joined by `inference.grounding.allowed_text`)."""
    parts: list[str] = [campaign.brief, campaign.offer, campaign.required_text, campaign.landing_url]
    if group.product is not None:
        parts += [*product_facts(group.product), *insight_lines(insight), *insight_labels(insight)]
    parts += [*segment_lines(group.segment), *segment_labels(group.segment)]
    return parts


def audience_terms(campaign: Campaign, group: Group) -> list[str]:
    """The internal names of the audience the copy is for: the lifecycle stages of the campaign's filters
    and, for a lifecycle segment, "lifecycle" and its stage (the key after "lifecycle-"). Not the segment's
    display name, which may be everyday words ("Trail runners")."""
    filters = campaign.audience_filters if isinstance(campaign.audience_filters, dict) else {}
    stages = filters.get("lifecycle") or []
    terms = [str(stage) for stage in (stages if isinstance(stages, list) else [stages])]
    segment = group.segment
    if segment is not None and segment.kind == Segment.Kind.LIFECYCLE:
        terms += ["lifecycle", segment.key.removeprefix("lifecycle-")]
    return list(dict.fromkeys(term for term in terms if term))


def guardrail_context(
    campaign: Campaign, group: Group, insight: ProductInsight | None, texts: Sequence[str] = ()
) -> GuardrailContext:
    """The context `copy` written for `group` is checked in; `texts` are the copy's own texts, searched for
    full names of other customers."""
    recipient = group.customer
    recipient_names = frozenset({recipient.name, recipient.name.split(" ")[0]} - {""}) if recipient else frozenset()
    return GuardrailContext(
        channel=campaign.channel,
        allowed_text=allowed_text(*allowed_parts(campaign, group, insight)),
        banned_words=[str(word) for word in campaign.banned_words or []],
        landing_url=campaign.landing_url,
        language=campaign.language,
        required_text=campaign.required_text,
        review_texts=review_texts(group.product),
        recipient_names=recipient_names,
        other_customer_names=other_customer_names(texts, group.product, recipient),
        template_texts=template_texts(campaign),
        goal=campaign.goal,
        goal_label=str(campaign.get_goal_display()),
        audience_terms=audience_terms(campaign, group),
        allowed_domains=settings.CAMPAIGN_LINK_DOMAINS,
    )


def check_message(campaign: Campaign, group: Group, insight: ProductInsight | None, copy: Copy) -> list[Result]:
    """Every check of a whole message written for `group` (other customers' names searched in its own text)."""
    return check_copy(copy, guardrail_context(campaign, group, insight, [copy.text()]))


def check_variant(variant: Variant) -> list[Result]:
    """The guardrail results of a stored variant's current text: what an edit in review is re-checked with
    (`campaigns.actions.do_edit_variant`), against the same context generation checked it in."""
    copy = Copy(subject=variant.subject, preheader=variant.preheader, body=variant.body)
    group = Group(variant.segment, variant.product, variant.customer)
    return check_message(variant.campaign, group, product_insight(group.product), copy)
