"""Copy variants for a campaign: segment x product groups, several variants each, under guardrails.

`generate_variants(campaign)` is the entry point (the `generate_campaign` job in tasks.py calls it):
- Groups: each of the campaign's segments (or one "everyone" group) x each chosen product (at most
  MAX_PRODUCTS), or, with `recommend_products` and none chosen, the segment's RECOMMENDED_PER_SEGMENT most
  popular products (purchases, carts and views of its members in the last POPULAR_DAYS days), or one
  product-less group. At most MAX_GROUPS groups: on CPU every variant costs tens of seconds.
- Variants: `variants_per_group` per group (at most len(ANGLES)), each with its own angle and seed, labelled
  A, B, C...; with `personalise_per_customer`, one more per customer for the first PER_CUSTOMER_CAP
  customers of the audience (`campaigns.audience`), with their top recommendation as the product.
- Each output is parsed and checked (`campaigns.guardrails`). One that fails is first repaired
  (`repair_copy`: sentences that on their own break a sentence-level check are dropped, if enough is left)
  and re-checked, the repair recorded as an extra `repair` row of its results. A failed one is regenerated
  with the failed checks added to the prompt, at most MAX_RETRIES times; then stored as in review (passed)
  or flagged (with the results), with its prompt, model version and name, attempts and a relevance score (cosine between
  the copy's embedding and the product and segment text). First attempts of a group go to the model in one
  batch, then the retries in another, so a local model batches and a server runs them concurrently.
- Idempotent: a (segment, product, customer, label) that already has a variant is skipped, so a re-run
  (or a retried job) only fills what is missing; `force` first deletes the variants not yet approved
  (and not used by an experiment arm or a message) and writes them again. Each group commits on its own.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Case, IntegerField, Max, Q, Sum, Value, When

from catalog.models import ModelVersion, Product, ProductInsight, Review
from catalog.summaries import version_for
from customers.models import Customer, Event, EventType, Segment
from inference.generation import ChatPrompt, Generator
from inference.loading import ModelNotAvailable

from . import guardrails
from .models import Campaign, Variant
from .prompts import (
    ANGLES,
    EMAIL_PREHEADER_MAX,
    Copy,
    PromptInput,
    build_prompt,
    insight_lines,
    parse_output,
    product_facts,
    prompt_text,
    segment_lines,
    with_required_text,
)

logger = logging.getLogger(__name__)

MAX_RETRIES = 2
MAX_GROUPS = 12
MAX_PRODUCTS = 4
RECOMMENDED_PER_SEGMENT = 2
POPULAR_DAYS = 90
PER_CUSTOMER_CAP = 20
REVIEWS_COMPARED = 300  # latest reviews of the product the copy is compared with (n-gram overlap)
TEMPERATURE = 0.7  # some variety between variants and retries; the angle does most of the work
MAX_NEW_TOKENS: dict[str, int] = {Campaign.Channel.EMAIL: 280, Campaign.Channel.SMS: 90, Campaign.Channel.PUSH: 120}
GENERATABLE = {Campaign.Status.DRAFT, Campaign.Status.GENERATING, Campaign.Status.IN_REVIEW}
LABELS = "ABCDEFGHIJ"

Progress = Callable[..., None]


class GenerationRefused(ValueError):
    """The campaign cannot be generated for now; the message says why."""


@dataclass(frozen=True)
class Group:
    segment: Segment | None
    product: Product | None
    customer: Customer | None = None
    searches: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int | None, int | None, int | None]:
        return (
            self.segment.pk if self.segment else None,
            self.product.pk if self.product else None,
            self.customer.pk if self.customer else None,
        )


@dataclass
class Slot:
    """One variant to write: its group, label and angle, and what its attempts produced."""

    group: Group
    label: str
    angle: str
    prompt: ChatPrompt | None = None
    copy: Copy = field(default_factory=Copy)
    results: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    passed_first: bool = False  # after the repair
    passed_first_unrepaired: bool = False
    repaired: bool = False  # the stored (last) attempt was repaired
    first_failures: list[str] = field(default_factory=list)


def check_can_generate(campaign: Campaign) -> None:
    if campaign.status not in GENERATABLE:
        raise GenerationRefused(
            f"campaign {campaign.pk} is {campaign.status}: copy is generated only for draft or in-review campaigns"
        )
    if campaign.channel not in Campaign.Channel.values:
        raise GenerationRefused(f"campaign {campaign.pk} has an unknown channel {campaign.channel!r}")
    if not 1 <= campaign.variants_per_group <= len(ANGLES):
        raise GenerationRefused(
            f"variants_per_group is {campaign.variants_per_group}; it must be between 1 and {len(ANGLES)}"
        )


# --- Groups ---------------------------------------------------------------------------------------------------


def popular_products(segment: Segment | None, n: int) -> list[Product]:
    """The segment's (or the shop's) most engaged-with active, in-stock products over the last
    POPULAR_DAYS days of events: a purchase counts 3, an add to cart 2, a view 1."""
    events = Event.objects.filter(
        product__isnull=False, product__is_active=True, product__in_stock=True,
        type__in=[EventType.PURCHASE, EventType.ADD_TO_CART, EventType.VIEW],
    )
    if segment is not None:
        events = events.filter(
            Q(customer__profile__lifecycle_segment=segment) | Q(customer__profile__behaviour_segment=segment)
        )
    latest = events.aggregate(latest=Max("occurred_at"))["latest"]
    if latest is None:
        return []
    score = Sum(Case(
        When(type=EventType.PURCHASE, then=Value(3)), When(type=EventType.ADD_TO_CART, then=Value(2)),
        default=Value(1), output_field=IntegerField(),
    ))
    ids = list(
        events.filter(occurred_at__gte=latest - timedelta(days=POPULAR_DAYS))
        .values("product_id").annotate(score=score).order_by("-score", "product_id")
        .values_list("product_id", flat=True)[:n]
    )
    found = Product.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def plan_groups(campaign: Campaign) -> list[Group]:
    """Segment x product groups, then one group per customer when personalising (see the module docstring)."""
    segments: list[Segment | None] = list(campaign.segments.order_by("pk")) or [None]
    chosen = list(campaign.products.order_by("pk")[:MAX_PRODUCTS])
    groups: list[Group] = []
    for segment in segments:
        products: Sequence[Product | None] = chosen
        if not chosen:
            products = (popular_products(segment, RECOMMENDED_PER_SEGMENT) if campaign.recommend_products else [])
            products = products or [None]
        groups += [Group(segment, product) for product in products]
    groups = groups[:MAX_GROUPS]
    if campaign.personalise_per_customer:
        groups += customer_groups(campaign, groups)
    return groups


def customer_groups(campaign: Campaign, groups: Sequence[Group]) -> list[Group]:
    """One group per customer, for the first PER_CUSTOMER_CAP of the audience (by id)."""
    from recommendations.models import RecommendationSet

    from .audience import audience_queryset

    customers = list(audience_queryset(campaign).select_related("profile")[:PER_CUSTOMER_CAP])
    segment_ids = {group.segment.pk: group.segment for group in groups if group.segment is not None}
    recommended = {
        row.customer_id: row.items for row in RecommendationSet.objects.filter(customer__in=customers)
    } if campaign.recommend_products else {}
    searches: dict[int, list[str]] = {}
    for cid, query in (
        Event.objects.filter(customer__in=customers, type=EventType.SEARCH).exclude(query="")
        .order_by("customer_id", "-occurred_at").values_list("customer_id", "query")
    ):
        if len(searches.setdefault(cid, [])) < 3:
            searches[cid].append(query)
    product_ids = {
        items[0].get("product") for items in recommended.values() if items and isinstance(items[0], dict)
    }
    products = Product.objects.in_bulk([pid for pid in product_ids if isinstance(pid, int)])
    fallback = next((group.product for group in groups if group.product is not None), None)
    out = []
    for customer in customers:
        profile = getattr(customer, "profile", None)
        segment = None
        if profile is not None:
            segment = segment_ids.get(profile.behaviour_segment_id or 0) or segment_ids.get(
                profile.lifecycle_segment_id or 0
            )
        items = recommended.get(customer.pk) or []
        product = products.get(items[0].get("product")) if items and isinstance(items[0], dict) else None
        out.append(Group(segment, product or fallback, customer, tuple(searches.get(customer.pk, []))))
    return out


# --- Guardrail context ----------------------------------------------------------------------------------------


def _review_texts(product: Product | None) -> list[str]:
    if product is None:
        return []
    rows = Review.objects.filter(product=product).order_by("-created_at").values_list("title", "text")
    return [f"{title}. {text}" if title else text for title, text in rows[:REVIEWS_COMPARED]]


_NAME_SPAN = re.compile(r"\b[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){1,2}\b")


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


def allowed_text(campaign: Campaign, group: Group, insight: ProductInsight | None) -> str:
    """What the copy may state: brief, offer, required text, product facts, review counts, segment labels."""
    parts: list[str] = [campaign.brief, campaign.offer, campaign.required_text, campaign.landing_url]
    if group.product is not None:
        parts += [*product_facts(group.product), *insight_lines(insight)]
    parts += segment_lines(group.segment)
    return guardrails.allowed_text(*parts)


def guardrail_context(
    campaign: Campaign, group: Group, insight: ProductInsight | None, texts: Sequence[str] = ()
) -> guardrails.GuardrailContext:
    recipient = group.customer
    recipient_names = frozenset({recipient.name, recipient.name.split(" ")[0]} - {""}) if recipient else frozenset()
    return guardrails.GuardrailContext(
        channel=campaign.channel,
        allowed_text=allowed_text(campaign, group, insight),
        banned_words=[str(word) for word in campaign.banned_words or []],
        landing_url=campaign.landing_url,
        language=campaign.language,
        required_text=campaign.required_text,
        review_texts=_review_texts(group.product),
        recipient_names=recipient_names,
        other_customer_names=other_customer_names(texts, group.product, recipient),
    )


def check_copy_for(campaign: Campaign, group: Group, copy: Copy, insight: ProductInsight | None = None) -> list[
    dict[str, Any]
]:
    """The guardrail results of `copy` written for `group` (also what an edit in review is re-checked with)."""
    if insight is None and group.product is not None:
        insight = ProductInsight.objects.filter(product=group.product).first()
    context = guardrail_context(campaign, group, insight, [copy.text()])
    return guardrails.check_copy(copy, context)


# --- Deterministic repair ---------------------------------------------------------------------------------------

# Checks a single sentence can fail on its own: such a sentence is dropped rather than the whole variant
# regenerated (a regeneration costs tens of seconds on CPU, and a 0.5B model often repeats the slip).
SENTENCE_CHECKS: tuple[tuple[str, Callable[[Copy, guardrails.GuardrailContext], dict[str, Any]]], ...] = (
    ("placeholders", guardrails.check_placeholders),
    ("contact_details", guardrails.check_contact_details),
    ("unsupported_claims", guardrails.check_unsupported_claims),
    ("banned_words", guardrails.check_banned_words),
    ("review_copy", guardrails.check_review_copy),
    ("personal_data", guardrails.check_personal_data),
)
# A repaired body must keep real content: at least this many sentences and this share of the original ones;
# otherwise the model's output is mostly violations and the variant is regenerated instead.
REPAIR_MIN_SENTENCES = 2
REPAIR_MIN_SHARE = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_ENDS_SENTENCE = tuple(".!?…\"'”’)")


def split_sentences(text: str) -> list[list[str]]:
    """Paragraphs (lines) of sentences; a sentence ends at . ! ? or … followed by a space."""
    return [[part for part in _SENTENCE_END.split(line.strip()) if part.strip()] for line in text.splitlines()]


def _join(paragraphs: Sequence[Sequence[str]]) -> str:
    lines = [" ".join(sentences) for sentences in paragraphs]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _sentence_problem(sentence: str, context: guardrails.GuardrailContext) -> str:
    """'' when the sentence passes every sentence-level check, else the first failed check and its detail."""
    copy = Copy(body=sentence)
    for name, check in SENTENCE_CHECKS:
        row = check(copy, context)
        if not row["passed"]:
            return f"{name.replace('_', ' ')}: {row['detail']}"
    return ""


def repair_copy(copy: Copy, context: guardrails.GuardrailContext) -> tuple[Copy, list[str]] | None:
    """Drop the sentences of the subject, preheader and body that on their own fail a sentence-level check
    (and a last body sentence the token limit cut off, and trailing preheader sentences over its limit). A
    preheader left empty becomes the body's first kept sentence (what mail clients preview without one); a
    subject left empty is reported missing, so the format check fails and the variant is regenerated
    (there is no honest replacement for a subject).

    Returns (repaired copy, what was dropped), with an empty list when nothing needed dropping, or None when
    the repair would leave too little (fewer than REPAIR_MIN_SENTENCES sentences or less than
    REPAIR_MIN_SHARE of them): then the unrepaired copy is checked and regenerated as before. The required
    text is not the model's and is never touched (it is appended after the repair)."""
    dropped: list[str] = []
    repaired = Copy(subject=copy.subject, preheader=copy.preheader, body=copy.body, missing=list(copy.missing))
    lost_preheader = False
    for attr, label in (("subject", "SUBJECT"), ("preheader", "PREHEADER")):
        sentences = [part for part in _SENTENCE_END.split(getattr(copy, attr).strip()) if part.strip()]
        kept_parts = []
        for sentence in sentences:
            problem = _sentence_problem(sentence, context)
            if problem:
                dropped.append(f"{attr} sentence {guardrails._quote(sentence, 50)} ({problem})")
            else:
                kept_parts.append(sentence)
        if attr == "preheader" and len(" ".join(kept_parts)) > EMAIL_PREHEADER_MAX:  # keep what fits
            while kept_parts and len(" ".join(kept_parts)) > EMAIL_PREHEADER_MAX:
                kept_parts.pop()
            dropped.append(f"preheader cut to {'its leading sentences' if kept_parts else 'nothing'} (too long)")
        setattr(repaired, attr, " ".join(kept_parts))
        if sentences and not kept_parts:
            if attr == "preheader":
                lost_preheader = True
            else:
                repaired.missing.append("TITLE" if context.channel != "email" else label)
    required = context.required_text.strip()
    body, tail = copy.body, ""
    if required and required in body:  # the model copied the required text: keep it, and what follows, as is
        body, _, after = body.partition(required)
        tail = f"{required}{after}"
    paragraphs = split_sentences(body)
    total = sum(len(sentences) for sentences in paragraphs)
    kept_paragraphs: list[list[str]] = []
    for sentences in paragraphs:
        kept: list[str] = []
        for sentence in sentences:
            problem = _sentence_problem(sentence, context)
            if problem:
                dropped.append(f"sentence {guardrails._quote(sentence, 50)} ({problem})")
            else:
                kept.append(sentence)
        kept_paragraphs.append(kept)
    last = next((p for p in reversed(kept_paragraphs) if p), None)
    if last is not None and not tail and not last[-1].rstrip().endswith(_ENDS_SENTENCE):
        dropped.append(f"sentence {guardrails._quote(last.pop(), 50)} (cut off by the length limit)")
    kept_count = sum(len(sentences) for sentences in kept_paragraphs)
    if dropped and total and (kept_count < REPAIR_MIN_SENTENCES or kept_count < REPAIR_MIN_SHARE * total):
        return None
    repaired.body = "\n\n".join(part for part in (_join(kept_paragraphs), tail.strip()) if part)
    if lost_preheader:  # what mail clients show without one: the body's first sentence, if it fits
        first = next((sentence for sentences in kept_paragraphs for sentence in sentences), "")
        if first and len(first) <= EMAIL_PREHEADER_MAX:
            repaired.preheader = first
            dropped.append("preheader replaced by the body's first sentence")
        else:
            repaired.missing.append("PREHEADER")
    if not repaired.body and "BODY" not in repaired.missing:
        repaired.missing.append("BODY")
    return repaired, dropped


def repair_result(dropped: Sequence[str]) -> dict[str, Any]:
    """The row a repaired variant carries after its ten checks, so a reviewer sees what was removed."""
    noun = "item" if len(dropped) == 1 else "items"
    detail = f"dropped {len(dropped)} {noun}: " + "; ".join(dropped)
    return {"check": "repair", "passed": True, "detail": detail[:2000]}


def check_and_repair(
    campaign: Campaign, group: Group, copy: Copy, insight: ProductInsight | None = None
) -> tuple[Copy, list[dict[str, Any]], list[dict[str, Any]]]:
    """(copy to store, its results, the unrepaired copy's results). The required text is appended after
    the repair; the results of a repaired copy end with a `repair` row."""
    if insight is None and group.product is not None:
        insight = ProductInsight.objects.filter(product=group.product).first()
    context = guardrail_context(campaign, group, insight, [copy.text()])
    raw = with_required_text(Copy(copy.subject, copy.preheader, copy.body, list(copy.missing)), campaign)
    raw_results = guardrails.check_copy(raw, context)
    if guardrails.passed(raw_results):
        return raw, raw_results, raw_results
    outcome = repair_copy(copy, context)
    if outcome is None or not outcome[1]:
        return raw, raw_results, raw_results
    repaired, dropped = outcome
    repaired = with_required_text(repaired, campaign)
    return repaired, [*guardrails.check_copy(repaired, context), repair_result(dropped)], raw_results


# --- Generation -------------------------------------------------------------------------------------------------


def _seed(campaign: Campaign, slot: Slot) -> int:
    key = f"{campaign.pk}:{slot.group.key}:{slot.label}:{slot.attempts}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _default_generator() -> Generator:
    from inference import registry

    generator: Generator = registry.generator()
    return generator


def _run(generator: Generator, campaign: Campaign, slots: Sequence[Slot], insight: ProductInsight | None) -> None:
    """One attempt for each slot: prompt (with the previous failures), generate, parse, check."""
    for slot in slots:
        fixes = guardrails.fix_instructions(slot.results) if slot.results else ()
        item = PromptInput(campaign, slot.group.segment, slot.group.product, slot.group.customer, slot.angle,
                           fixes, slot.group.searches)
        slot.prompt = build_prompt(item, insight)
    # one call per distinct seed would defeat batching; the server and the local model both take one seed
    # per call, so slots of one attempt share the seed of the first (prompts differ by angle anyway)
    seed = _seed(campaign, slots[0])
    outputs = generator.generate(
        [slot.prompt for slot in slots if slot.prompt is not None],
        max_new_tokens=MAX_NEW_TOKENS.get(campaign.channel, 200), temperature=TEMPERATURE, seed=seed,
    )
    for slot, output in zip(slots, outputs, strict=True):
        slot.attempts += 1
        slot.copy, slot.results, raw_results = check_and_repair(
            campaign, slot.group, parse_output(output, campaign.channel), insight
        )
        slot.repaired = any(row["check"] == "repair" for row in slot.results)
        if slot.attempts == 1:
            slot.passed_first = guardrails.passed(slot.results)
            slot.passed_first_unrepaired = guardrails.passed(raw_results)
            slot.first_failures = [str(row["check"]) for row in guardrails.failures(raw_results)]


def _reference_text(group: Group, campaign: Campaign, insight: ProductInsight | None) -> str:
    parts: list[str] = []
    if group.product is not None:
        product = group.product
        parts += [product.title, " ".join(product.category_levels), product.brand]
        if insight is not None:
            praised = insight.praised_aspects or []
            parts += [str(row.get("aspect", "")) for row in praised[:3] if isinstance(row, dict)]
    else:
        parts.append(campaign.brief)
    if group.segment is not None:
        parts += [str(row[0]) for row in (group.segment.top_categories or [])[:3] if row]
        parts += [str(row[0]) for row in (group.segment.top_keywords or [])[:5] if row]
    return ". ".join(part for part in parts if part)


def relevance_scores(pairs: Sequence[tuple[str, str]]) -> list[float | None]:
    """Cosine similarity of each (copy, reference) pair with the embedding role; None without a model."""
    if not pairs:
        return []
    from inference import registry

    try:
        vectors = registry.embedder().encode([text for pair in pairs for text in pair])
    except (ModelNotAvailable, OSError) as exc:
        logger.warning("no relevance scores: the embedding model is not available (%s)", exc)
        return [None] * len(pairs)
    vectors = np.asarray(vectors, dtype=np.float32)
    scores: list[float | None] = []
    for index in range(len(pairs)):
        a, b = vectors[2 * index], vectors[2 * index + 1]
        norm = float(np.linalg.norm(a) * np.linalg.norm(b))
        scores.append(round(float(a @ b) / norm, 4) if norm else None)
    return scores


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _store(
    campaign: Campaign, slots: Sequence[Slot], insight: ProductInsight | None, version: ModelVersion,
    model_name: str,
) -> None:
    pairs = [
        (f"{slot.copy.subject}\n{slot.copy.body}", _reference_text(slot.group, campaign, insight)) for slot in slots
    ]
    scores = relevance_scores(pairs)
    with transaction.atomic():
        for slot, score in zip(slots, scores, strict=True):
            ok = guardrails.passed(slot.results)
            Variant.objects.create(
                campaign=campaign, segment=slot.group.segment, product=slot.group.product,
                customer=slot.group.customer, label=slot.label, subject=_clip(slot.copy.subject, 200),
                preheader=_clip(slot.copy.preheader, 200), body=slot.copy.body, language=campaign.language,
                status=Variant.Status.IN_REVIEW if ok else Variant.Status.FLAGGED, guardrails=slot.results,
                attempts=slot.attempts, relevance=score,
                prompt=prompt_text(slot.prompt) if slot.prompt is not None else "", model_version=version,
                model_name=model_name[:200], generated_body=slot.copy.body,
            )


def _existing_keys(campaign: Campaign) -> set[tuple[int | None, int | None, int | None, str]]:
    return set(campaign.variants.values_list("segment_id", "product_id", "customer_id", "label"))


def delete_unapproved(campaign: Campaign) -> int:
    """Variants a forced run may replace: not approved, not an arm, never sent."""
    doomed = campaign.variants.exclude(status=Variant.Status.APPROVED).filter(arms=None, messages=None)
    return doomed.delete()[1].get(Variant._meta.label, 0)


def plan_slots(campaign: Campaign, groups: Sequence[Group]) -> tuple[list[Slot], int]:
    """The variants still missing (and how many already exist)."""
    existing = _existing_keys(campaign)
    slots: list[Slot] = []
    skipped = 0
    for group in groups:
        count = 1 if group.customer is not None else campaign.variants_per_group
        for index in range(count):
            label = LABELS[index]
            if (*group.key, label) in existing:
                skipped += 1
                continue
            angle = ANGLES[(index + (group.customer.pk if group.customer else 0)) % len(ANGLES)]
            slots.append(Slot(group, label, angle))
    return slots, skipped


def generate_variants(
    campaign: Campaign,
    *,
    progress: Progress | None = None,
    set_total: Callable[[int], None] | None = None,
    generator: Generator | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Write the campaign's missing variants (all not-yet-approved ones with `force`); returns counts:
    groups, generated, passed_first_try (after the repair), passed_first_try_unrepaired, passed_with_repair,
    passed_after_retry, flagged, skipped_existing, attempts, deleted, and first_try_failed_<check> per
    guardrail that failed a first attempt before any repair."""
    check_can_generate(campaign)
    counts: Counter[str] = Counter()
    if force:
        counts["deleted"] = delete_unapproved(campaign)
    groups = plan_groups(campaign)
    slots, counts["skipped_existing"] = plan_slots(campaign, groups)
    counts["groups"] = len(groups)
    if set_total is not None:
        set_total(len(slots))
    if not slots:
        return dict(counts)
    active = generator if generator is not None else _default_generator()
    version = version_for(active)
    by_group: dict[tuple[int | None, int | None, int | None], list[Slot]] = {}
    for slot in slots:
        by_group.setdefault(slot.group.key, []).append(slot)
    for group_slots in by_group.values():
        product = group_slots[0].group.product
        insight = ProductInsight.objects.filter(product=product).first() if product is not None else None
        pending = list(group_slots)
        for _ in range(1 + MAX_RETRIES):
            _run(active, campaign, pending, insight)
            pending = [slot for slot in pending if not guardrails.passed(slot.results)]
            if not pending:
                break
        _store(campaign, group_slots, insight, version, active.name)
        group_counts: Counter[str] = Counter(generated=len(group_slots))
        for slot in group_slots:
            group_counts["attempts"] += slot.attempts
            group_counts.update(f"first_try_failed_{check}" for check in slot.first_failures)
            if slot.passed_first_unrepaired:
                group_counts["passed_first_try_unrepaired"] += 1
            if slot.repaired and guardrails.passed(slot.results):
                group_counts["passed_with_repair"] += 1
            if slot.passed_first:
                group_counts["passed_first_try"] += 1
            elif guardrails.passed(slot.results):
                group_counts["passed_after_retry"] += 1
            else:
                group_counts["flagged"] += 1
        counts.update(group_counts)
        if progress is not None:
            progress(len(group_slots), **group_counts)
    return dict(counts)
