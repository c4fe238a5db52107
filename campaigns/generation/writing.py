"""Writing a campaign's variants: generate, check, repair, retry, store (see the package docstring).
The first attempts of a group go to the model in one batch, then the retries in another, so a local model
batches and a server runs them concurrently; each group commits on its own."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from catalog.generator_versions import version_for
from catalog.models import ModelVersion, ProductInsight
from core.progress import NO_PROGRESS, Progress
from inference import registry  # light: the model loads on the first `generator()` call
from inference.generation import Generator

from .. import guardrails
from ..channels import Copy
from ..models import Campaign, Variant
from ..prompts import ANGLES, PromptInput, build_prompt, parse_output, prompt_text, with_required_text
from .context import guardrail_context, product_insight
from .planning import Group, Slot, plan_groups, plan_slots
from .relevance import reference_text, relevance_scores
from .repair import repair_copy, repair_result

MAX_RETRIES = 2
TEMPERATURE = 0.7  # some variety between variants and retries; the angle does most of the work
MAX_NEW_TOKENS: dict[str, int] = {Campaign.Channel.EMAIL: 280, Campaign.Channel.SMS: 90, Campaign.Channel.PUSH: 120}
GENERATABLE = {Campaign.Status.DRAFT, Campaign.Status.GENERATING, Campaign.Status.IN_REVIEW}


class GenerationRefused(ValueError):
    """The campaign cannot be generated for now; the message says why."""


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


def check_and_repair(
    campaign: Campaign, group: Group, copy: Copy, insight: ProductInsight | None
) -> tuple[Copy, list[dict[str, Any]], list[dict[str, Any]]]:
    """(copy to store, its results, the unrepaired copy's results). The required text is appended after
    the repair; the results of a repaired copy end with a `repair` row."""
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


def _seed(campaign: Campaign, slot: Slot) -> int:
    key = f"{campaign.pk}:{slot.group.key}:{slot.label}:{slot.attempts}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _default_generator() -> Generator:
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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _store(
    campaign: Campaign, slots: Sequence[Slot], insight: ProductInsight | None, version: ModelVersion,
    model_name: str,
) -> None:
    pairs = [
        (f"{slot.copy.subject}\n{slot.copy.body}", reference_text(slot.group, campaign, insight)) for slot in slots
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


def delete_unapproved(campaign: Campaign) -> int:
    """Variants a forced run may replace: not approved, not an arm, never sent."""
    doomed = campaign.variants.exclude(status=Variant.Status.APPROVED).filter(arms=None, messages=None)
    return doomed.delete()[1].get(Variant._meta.label, 0)


def generate_variants(
    campaign: Campaign,
    *,
    progress: Progress = NO_PROGRESS,
    generator: Generator | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Write the campaign's missing variants (all not-yet-approved ones with `force`); returns counts:
    groups, generated, passed_first_try (after the repair), passed_first_try_unrepaired, passed_with_repair,
    passed_after_retry, flagged, skipped_existing, attempts, deleted, and first_try_failed_<check> per
    guardrail that failed a first attempt before any repair. `progress` counts variants, with these counts."""
    check_can_generate(campaign)
    counts: Counter[str] = Counter()
    if force:
        counts["deleted"] = delete_unapproved(campaign)
    groups = plan_groups(campaign)
    slots, counts["skipped_existing"] = plan_slots(campaign, groups)
    counts["groups"] = len(groups)
    progress.set_total(len(slots))
    if not slots:
        return dict(counts)
    active = generator if generator is not None else _default_generator()
    version = version_for(active)
    by_group: dict[tuple[int | None, int | None, int | None], list[Slot]] = {}
    for slot in slots:
        by_group.setdefault(slot.group.key, []).append(slot)
    for group_slots in by_group.values():
        product = group_slots[0].group.product
        insight = product_insight(product)
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
        progress.advance(len(group_slots), **group_counts)
    return dict(counts)
