"""Summarising products: batches of prompts to the generator, outputs cached in `GeneratedText` by the
hash of model + prompt + parameters, grounded, and stored on `ProductInsight` with the model version (or the
template, with none). Work is committed per chunk, and a product whose summary input did not change is
skipped, so a killed job keeps what it finished and a re-run costs nothing."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress
from inference import registry
from inference.generation import ChatPrompt, GenerationError, Generator
from inference.loading import ModelNotAvailable

from ..generator_versions import version_for
from ..models import GeneratedText, ModelVersion, ProductInsight
from .grounding import ground
from .prompt import GENERATION_PARAMS, SummaryFacts, build_prompt, facts_from_insight, prompt_hash, template_hash
from .template import template_summary

logger = logging.getLogger(__name__)

# Products per generate call and per commit. On 2 CPU cores one chunk of 8 takes a few minutes with
# the default 0.5B model; an OpenAI-compatible server takes them concurrently.
CHUNK = 8


def _default_generator() -> Generator | None:
    try:
        generator: Generator = registry.generator()
        return generator
    except ModelNotAvailable as exc:
        logger.warning("summaries fall back to the template: %s", exc)
        return None


@dataclass
class _Pending:
    insight: ProductInsight
    facts: SummaryFacts
    prompt: ChatPrompt | None = None
    key: str = ""


def summarize_products(
    product_ids: Iterable[int],
    generator: Generator | None = None,
    *,
    progress: Progress = NO_PROGRESS,
    force: bool = False,
    use_model: bool = True,
    chunk: int = CHUNK,
) -> dict[str, int]:
    """Summarise the products' insights; returns counts (generated, cached, template, unchanged, ...).

    `generator` defaults to the generation role from settings; without one (or with `use_model=False`)
    every product gets the template summary. Work is committed per chunk, so a killed job keeps what it
    finished, and a product whose summary input is unchanged is skipped. `progress` counts products."""
    ids = list(dict.fromkeys(product_ids))
    progress.set_total(len(ids))
    insights = {
        insight.product_id: insight
        for insight in ProductInsight.objects.filter(product_id__in=ids).select_related("product")
    }
    counts: Counter[str] = Counter(missing=len(ids) - len(insights))
    if counts["missing"]:
        progress.advance(counts["missing"])
    active = generator if generator is not None else (_default_generator() if use_model else None)
    version = version_for(active) if active is not None else None
    ordered = [insights[pid] for pid in ids if pid in insights]
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        counts.update(_summarize_chunk(part, active, version, force))
        progress.advance(len(part))
    return {key: value for key, value in counts.items() if value or key in {"generated", "template", "unchanged"}}


def _summarize_chunk(
    insights: Sequence[ProductInsight], generator: Generator | None, version: ModelVersion | None, force: bool
) -> Counter[str]:
    counts: Counter[str] = Counter(generated=0, template=0, unchanged=0)
    pending: list[_Pending] = []
    for insight in insights:
        facts = facts_from_insight(insight.product, insight)
        item = _Pending(insight, facts)
        if generator is not None:
            item.prompt = build_prompt(facts)
            item.key = prompt_hash(generator.name, item.prompt)
        else:
            item.key = template_hash(facts)
        if not force and insight.summary and insight.summary_input_hash == item.key:
            counts["unchanged"] += 1
        else:
            pending.append(item)
    if not pending:
        return counts

    outputs: dict[str, str] = {}
    if generator is not None:
        keys = [item.key for item in pending]
        outputs = dict(GeneratedText.objects.filter(prompt_hash__in=keys).values_list("prompt_hash", "output"))
        counts["cached"] += sum(1 for key in keys if key in outputs)
        todo = [item for item in pending if item.key not in outputs and item.prompt is not None]
        # the same prompt twice in one chunk (identical facts) is generated once
        unique = list({item.key: item for item in todo}.values())
        if unique:
            try:
                texts = generator.generate([item.prompt for item in unique if item.prompt], **GENERATION_PARAMS)
            except GenerationError as exc:
                logger.warning("generation failed for %d products, using the template: %s", len(unique), exc)
                counts["generation_errors"] += len(unique)
                failed = {item.key for item in unique}
                for item in pending:  # template now; its hash lets the next run try the model again
                    if item.key in failed:
                        item.prompt, item.key = None, template_hash(item.facts)
                texts = []
            else:
                GeneratedText.objects.bulk_create(
                    [
                        GeneratedText(
                            prompt_hash=item.key,
                            model_name=generator.name[:200],
                            prompt=json.dumps({"system": item.prompt.system, "user": item.prompt.user,
                                               "params": GENERATION_PARAMS}),
                            output=text,
                        )
                        for item, text in zip(unique, texts, strict=True)
                        if item.prompt is not None
                    ],
                    ignore_conflicts=True,  # another worker may have generated the same prompt meanwhile
                )
                outputs.update({item.key: text for item, text in zip(unique, texts, strict=True)})

    now = timezone.now()
    with transaction.atomic():
        for item in pending:
            summary, model = template_summary(item.facts), None
            if item.prompt is not None and item.key in outputs:
                grounded = ground(outputs[item.key], item.facts, item.prompt)
                counts["dropped_sentences"] += len(grounded.dropped)
                if grounded.dropped:
                    logger.info("product %s: dropped %s", item.insight.product_id, grounded.dropped)
                if grounded.ok:
                    summary, model = grounded.text, version
            counts["generated" if model is not None else "template"] += 1
            ProductInsight.objects.filter(pk=item.insight.pk).update(
                summary=summary, summary_input_hash=item.key, summary_model=model, summary_at=now
            )
    return counts


def top_product_ids(top: int) -> list[int]:
    """The `top` products with the most reviews that have an insight (what the demo summarises first)."""
    return list(
        ProductInsight.objects.filter(review_count__gt=0)
        .order_by("-review_count", "product_id")
        .values_list("product_id", flat=True)[:top]
    )
