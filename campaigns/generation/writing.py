"""Writing a campaign's variants part by part, best of n (see the package docstring).

A group's variants are written together: every (variant, part) prompt of the group goes to the model in
one `sample` call (n candidates each, one batch on a local model, concurrent requests on a server), each
part is chosen by `choosing`, then the parts that had no passing candidate are sampled again with the
failed checks in their prompt, at most MAX_RETRIES times. The message is assembled from the chosen parts
and the campaign's template (`parts`), checked whole, repaired as a last resort (`repair`), and stored as
in review (passed) or flagged (with every failed check); each group commits on its own."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from catalog.generator_versions import version_for
from catalog.models import ProductInsight
from core.progress import NO_PROGRESS, Progress
from inference import registry  # light: the model loads on the first `generator()` call
from inference.generation import Candidate, ChatPrompt, Generator

from .. import guardrails
from ..channels import Copy
from ..guardrails import GuardrailContext
from ..models import Campaign, Variant
from ..prompts import ANGLES, PromptInput, part_prompt, prompt_text
from .choosing import Scored, Similarity, best, part_failures, score_candidates
from .context import check_message, guardrail_context, product_insight
from .examples import voice_examples
from .parts import DEFAULT_CTA, LINE_MIN_CHARS, Part, assemble, clean, line_budget, parts_for
from .planning import Group, Slot, plan_groups, plan_slots
from .relevance import reference_text, relevance_scores
from .repair import repair_copy, repair_result

MAX_RETRIES = 1
TEMPERATURE = 0.8  # candidates must differ for best-of-n to choose; the angle does the rest
STOP = ("\n",)  # every part is one line: a part cannot run on into another
FALLBACKS = {"cta": DEFAULT_CTA, "preheader": ""}  # parts the template can stand in for
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
    if campaign.channel != Campaign.Channel.EMAIL and line_budget(campaign) < LINE_MIN_CHARS:
        raise GenerationRefused(
            f"the offer and required text leave {max(0, line_budget(campaign))} of the {campaign.channel} limit's "
            f"characters for the message itself (at least {LINE_MIN_CHARS} are needed): shorten them"
        )


@dataclass
class PartState:
    """One part of one variant: every candidate sampled so far, scored, and the chosen one."""

    part: Part
    prompt: ChatPrompt | None = None
    scored: list[Scored] = field(default_factory=list)
    chosen: int = -1
    chosen_round: int = 0
    first_round_index: int = -1  # the chosen candidate's index among its round's samples

    @property
    def text(self) -> str:
        return self.scored[self.chosen].text if self.chosen >= 0 else ""

    @property
    def passed(self) -> bool:
        return self.chosen >= 0 and self.scored[self.chosen].passed

    def record(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "round": self.chosen_round,
                "candidates": [row.record() for row in self.scored], "text": self.text}


@dataclass
class Writing:
    """A slot (one variant) being written: its parts' states and the first round's verdict."""

    slot: Slot
    states: dict[str, PartState]
    first_copy: Copy | None = None

    def texts(self) -> dict[str, str]:
        return {name: state.text for name, state in self.states.items() if state.chosen >= 0}


def _seed(campaign: Campaign, group: Group, round_: int) -> int:
    key = f"{campaign.pk}:{group.key}:{round_}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _default_generator() -> Generator:
    generator: Generator = registry.generator()
    return generator


def _sample_round(
    generator: Generator, campaign: Campaign, group: Group, insight: ProductInsight | None,
    pending: Sequence[tuple[Writing, PartState]], examples: Sequence[str], n: int, round_: int,
) -> list[list[Candidate]]:
    for writing, state in pending:
        fixes = guardrails.fix_instructions(state.scored[state.chosen].failures) if state.chosen >= 0 else ()
        item = PromptInput(campaign, group.segment, group.product, group.customer, writing.slot.angle, fixes,
                           group.searches)
        state.prompt = part_prompt(item, state.part, insight, examples if state.part.name == "paragraph" else ())
    # One call per part: its prompts share most of their text and its candidates end together, so no
    # sequence idles in a batch while a longer part decodes.
    samples: dict[int, list[Candidate]] = {}
    for name in dict.fromkeys(state.part.name for _, state in pending):
        same = [state for _, state in pending if state.part.name == name and state.prompt is not None]
        outputs = generator.sample(
            [state.prompt for state in same if state.prompt is not None], n=n,
            max_new_tokens=same[0].part.max_new_tokens, temperature=TEMPERATURE,
            seed=_seed(campaign, group, round_), stop=STOP,
        )
        samples.update({id(state): output for state, output in zip(same, outputs, strict=True)})
    return [samples[id(state)] for _, state in pending]


def _choose_round(
    campaign: Campaign, writings: Sequence[Writing], pending: Sequence[tuple[Writing, PartState]],
    samples: Sequence[Sequence[Candidate]], context: GuardrailContext, reference: str, round_: int,
) -> None:
    """Score this round's candidates and (re)choose each pending part, variant by variant in label order and
    part by part in message order, so each sees the parts and siblings chosen before it."""
    cleaned = {id(state): [clean(c.text, state.part) for c in cands] for (_, state), cands in zip(pending, samples,
                                                                                                 strict=True)}
    similarity = Similarity([reference, *(t for texts in cleaned.values() for t in texts),
                             *(s.text for w in writings for s in w.states.values() if s.chosen >= 0)])
    by_state = {id(state): cands for (_, state), cands in zip(pending, samples, strict=True)}
    for writing in writings:
        for name, state in writing.states.items():
            if id(state) not in by_state:
                continue
            texts = cleaned[id(state)]
            # the message as the parts chosen so far make it, without any that fail (they are sampled again):
            # a candidate is judged by what it adds, not by another part's failure
            chosen_texts = {k: s.text for k, s in writing.states.items() if s.passed and k != name}
            messages = [assemble(campaign, {**chosen_texts, name: text}) for text in texts]
            siblings = [w.states[name].text for w in writings if w is not writing and w.states[name].chosen >= 0]
            scored = score_candidates(by_state[id(state)], texts, state.part, messages, context, similarity,
                                      reference, siblings)
            offset = len(state.scored)
            state.scored += scored
            index = best(state.scored)
            if index != state.chosen:
                state.chosen, state.chosen_round = index, round_
            if round_ == 0:
                state.first_round_index = index - offset


def _repair(state: PartState, message_for: Callable[[str], Copy], context: GuardrailContext) -> list[str]:
    """Last resort for a paragraph or line with no passing candidate: drop the sentences of its best candidate
    that on their own break a sentence-level check (`repair`), if enough is left and the rest then passes.
    Returns what was dropped (empty when no repair was possible)."""
    if state.chosen < 0 or state.part.name not in ("paragraph", "line"):
        return []
    chosen = state.scored[state.chosen]
    outcome = repair_copy(Copy(body=chosen.text), context)
    if outcome is None or not outcome[1] or not outcome[0].body:
        return []
    text = " ".join(outcome[0].body.split())
    failures = part_failures(text, state.part, message_for(text), context)
    if failures:
        return []
    state.scored.append(Scored(text, chosen.fluency, chosen.relevance, chosen.distinct, [], repaired=True))
    state.chosen = len(state.scored) - 1
    return [f"{state.part.name}: {item}" for item in outcome[1]]


def write_group(
    generator: Generator, campaign: Campaign, slots: Sequence[Slot], insight: ProductInsight | None, n: int,
) -> Counter[str]:
    """Write and store the variants of one group's slots; returns the group's counts."""
    group = slots[0].group
    parts = parts_for(campaign)
    writings = [Writing(slot, {part.name: PartState(part) for part in parts}) for slot in slots]
    context = guardrail_context(campaign, group, insight)
    reference = reference_text(group, campaign, insight)
    examples = voice_examples(campaign, group)
    pending = [(writing, state) for writing in writings for state in writing.states.values()]
    counts: Counter[str] = Counter()
    for round_ in range(1 + MAX_RETRIES):
        samples = _sample_round(generator, campaign, group, insight, pending, examples, n, round_)
        counts["candidates"] += sum(len(cands) for cands in samples)
        _choose_round(campaign, writings, pending, samples, context, reference, round_)
        if round_ == 0:
            for writing in writings:
                writing.first_copy = assemble(campaign, writing.texts())
        pending = [(w, state) for w in writings for state in w.states.values() if not state.passed]
        if not pending or round_ == MAX_RETRIES:
            break
        for writing in {id(w): w for w, _ in pending}.values():
            writing.slot.attempts += 1
    for writing in writings:
        writing.slot.attempts += 1
        slot = writing.slot
        dropped: list[str] = []
        for name, state in writing.states.items():
            if not state.passed:
                others = {k: v for k, v in writing.texts().items() if k != name}

                def message_for(text: str, part: str = name, rest: dict[str, str] = others) -> Copy:
                    return assemble(campaign, {**rest, part: text})

                dropped += _repair(state, message_for, context)
            if not state.passed and name in FALLBACKS:  # the template's button, or no preheader (mail clients
                # then preview the body's start), rather than a failing one
                state.scored.append(Scored(FALLBACKS[name], 0.0, None, 0.0, [], fallback=True))
                state.chosen = len(state.scored) - 1
                counts[f"{name}_fallback"] += 1
        slot.copy = assemble(campaign, writing.texts())
        slot.results = check_message(campaign, group, insight, slot.copy)
        slot.repaired = bool(dropped)
        if dropped:
            slot.results.append(repair_result(dropped))
        first = check_message(campaign, group, insight, writing.first_copy or Copy())
        slot.passed_first_unrepaired = guardrails.passed(first)
        slot.passed_first = slot.passed_first_unrepaired or (
            slot.attempts == 1 and slot.repaired and guardrails.passed(slot.results))
        slot.first_failures = [str(row["check"]) for row in guardrails.failures(first)]
        for state in writing.states.values():
            counts["parts"] += 1
            counts["chosen_not_first"] += state.chosen >= 0 and state.first_round_index > 0
    _store(campaign, writings, insight, generator)
    return counts


def _store(campaign: Campaign, writings: Sequence[Writing], insight: ProductInsight | None,
           generator: Generator) -> None:
    version = version_for(generator)
    group = writings[0].slot.group
    pairs = [(f"{w.slot.copy.subject}\n{w.slot.copy.body}", reference_text(group, campaign, insight)) for w in writings]
    scores = relevance_scores(pairs)
    with transaction.atomic():
        for writing, score in zip(writings, scores, strict=True):
            slot = writing.slot
            ok = guardrails.passed(slot.results)
            prompts = "\n\n".join(f"=== {name} ===\n{prompt_text(state.prompt)}"
                                   for name, state in writing.states.items() if state.prompt is not None)
            Variant.objects.create(
                campaign=campaign, segment=group.segment, product=group.product, customer=group.customer,
                label=slot.label, subject=_clip(slot.copy.subject, 200), preheader=_clip(slot.copy.preheader, 200),
                body=slot.copy.body, language=campaign.language,
                status=Variant.Status.IN_REVIEW if ok else Variant.Status.FLAGGED, guardrails=slot.results,
                attempts=slot.attempts, relevance=score, prompt=prompts, model_version=version,
                model_name=generator.name[:200], generated_body=slot.copy.body,
                parts={name: state.record() for name, state in writing.states.items()},
            )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    passed_after_retry, flagged, skipped_existing, attempts, deleted, candidates (sampled), parts (chosen),
    chosen_not_first (parts whose chosen candidate was not the first sampled), and first_try_failed_<check>
    per guardrail that failed a first attempt before any repair. `progress` counts variants, with these
    counts. "First try" is the message assembled from the first round's chosen candidates."""
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
    n = registry.candidates_per_part(active)
    by_group: dict[tuple[int | None, int | None, int | None], list[Slot]] = {}
    for slot in slots:
        by_group.setdefault(slot.group.key, []).append(slot)
    for group_slots in by_group.values():
        product = group_slots[0].group.product
        insight = product_insight(product)
        group_counts = write_group(active, campaign, group_slots, insight, n)
        group_counts["generated"] = len(group_slots)
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
