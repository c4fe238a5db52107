"""Summarising products part by part (one sentence per aspect), best of n: every part's prompt of a chunk of
products goes to the generator in one `sample` call (n candidates each, cut at a newline: every part is one
short sentence, so they end together), the candidates are cached in `GeneratedText` by the hash of model +
part prompt + parameters (n and the seed included), each part is chosen by `choosing` (or is the template's
sentence when no candidate passes), and the joined summary is stored on `ProductInsight` with the model
version (or the template, with none). Work is committed per chunk, and a
product whose summary input did not change is skipped, so a killed job keeps what it finished and a re-run
costs nothing."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.progress import NO_PROGRESS, Progress
from inference import registry
from inference.generation import Candidate, ChatPrompt, GenerationError, Generator
from inference.loading import ModelNotAvailable

from ..generator_versions import version_for
from ..models import GeneratedText, ModelVersion, ProductInsight
from .choosing import Written, write_summary
from .prompt import (
    SAMPLING_PARAMS,
    SummaryFacts,
    SummaryPart,
    build_prompt,
    facts_from_insight,
    prompt_hash,
    summary_hash,
    summary_parts,
    template_hash,
)
from .template import template_summary

logger = logging.getLogger(__name__)

# Products per sampling round and per commit. On 2 CPU cores one summary (up to 6 parts, 4 candidates each)
# takes about half a minute with the default 0.5B model, a chunk of 8 a few minutes; an OpenAI-compatible
# server takes them concurrently.
CHUNK = 8
OnSummary = Callable[[int, Written], None]


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
    parts: list[SummaryPart] = field(default_factory=list)
    prompts: dict[str, ChatPrompt] = field(default_factory=dict)  # by part key; empty: the template
    keys: dict[str, str] = field(default_factory=dict)  # each part's cache key, by part key
    key: str = ""  # the summary input hash


def summarize_products(
    product_ids: Iterable[int],
    generator: Generator | None = None,
    *,
    progress: Progress = NO_PROGRESS,
    force: bool = False,
    use_model: bool = True,
    use_cache: bool = True,
    chunk: int = CHUNK,
    on_summary: OnSummary | None = None,
) -> dict[str, int]:
    """Summarise the products' insights; returns counts: generated, cached (products whose every part came
    from the cache), template, unchanged, missing, generation_errors, dropped_sentences (sampled candidates
    that failed a check), parts (parts chosen), parts_fallback (parts that are the template's sentence: no
    candidate passed, or none was sampled), parts_unsampled (of those, parts with no quote to restate, never
    sampled), chosen_not_first (parts whose chosen candidate was not the first sampled).

    `generator` defaults to the generation role from settings; without one (or with `use_model=False`)
    every product gets the template summary. Work is committed per chunk, so a killed job keeps what it
    finished, and a product whose summary input is unchanged is skipped (all with `force`). `use_cache=False`
    samples again even when `GeneratedText` has the candidates (the evaluation's timing). `on_summary` gets
    (product id, the written summary) of every summary the model wrote. `progress` counts products."""
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
    n = registry.candidates_per_part(active) if active is not None else 0
    ordered = [insights[pid] for pid in ids if pid in insights]
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        counts.update(_summarize_chunk(part, active, version, force, n, use_cache, on_summary))
        progress.advance(len(part))
    always = {"generated", "template", "unchanged"}
    return {key: value for key, value in counts.items() if value or key in always}


def _plan(insight: ProductInsight, generator: Generator | None, params: dict[str, Any]) -> _Pending:
    facts = facts_from_insight(insight.product, insight)
    item = _Pending(insight, facts, summary_parts(facts))
    if generator is not None:
        item.prompts = {part.key: build_prompt(facts, part) for part in item.parts if part.quotes}
        item.keys = {key: prompt_hash(generator.name, prompt, params) for key, prompt in item.prompts.items()}
    item.key = summary_hash([item.keys.get(p.key, "") for p in item.parts], facts) if item.prompts else (
        template_hash(facts))
    return item


def _candidates(output: str) -> list[Candidate] | None:
    """The candidates a GeneratedText row keeps (None when it is not a list of them: an older format)."""
    try:
        rows = json.loads(output)
        return [Candidate(str(r["text"]), r.get("mean_logprob"), int(r.get("tokens", 0))) for r in rows]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _sample(
    generator: Generator, pending: Sequence[_Pending], params: dict[str, Any], use_cache: bool, counts: Counter[str]
) -> dict[str, list[Candidate]]:
    """Every part's candidates by cache key: from the cache, else one `sample` call for all the chunk's parts
    (one short sentence each: they end together), stored as they come. A GenerationError sends the products still
    missing a part to the template, with its hash, so the next run tries the model again."""
    keys = {key for item in pending for key in item.keys.values()}
    samples: dict[str, list[Candidate]] = {}
    if use_cache:
        for key, output in GeneratedText.objects.filter(prompt_hash__in=keys).values_list("prompt_hash", "output"):
            found = _candidates(output)
            if found is not None:
                samples[key] = found
    counts["cached"] += sum(1 for item in pending if item.keys and all(k in samples for k in item.keys.values()))
    try:
        # the same prompt twice (identical facts) is sampled once
        todo = {key: item.prompts[part] for item in pending for part, key in item.keys.items() if key not in samples}
        if todo:
            outputs = generator.sample(
                list(todo.values()), n=params["n"], max_new_tokens=params["max_new_tokens"],
                temperature=params["temperature"], seed=params["seed"], stop=tuple(params["stop"]),
            )
            GeneratedText.objects.bulk_create(
                [
                    GeneratedText(
                        prompt_hash=key, model_name=generator.name[:200],
                        prompt=json.dumps({"system": prompt.system, "user": prompt.user, "params": params}),
                        output=json.dumps([{"text": c.text, "mean_logprob": c.mean_logprob, "tokens": c.tokens}
                                           for c in candidates]),
                    )
                    for (key, prompt), candidates in zip(todo.items(), outputs, strict=True)
                ],
                ignore_conflicts=True,  # another worker (or an uncached run) may have stored the same prompt
            )
            samples.update({key: list(c) for key, c in zip(todo, outputs, strict=True)})
    except GenerationError as exc:
        failed = [item for item in pending if any(k not in samples for k in item.keys.values())]
        logger.warning("generation failed for %d products, using the template: %s", len(failed), exc)
        counts["generation_errors"] += len(failed)
        for item in failed:  # template now; its hash lets the next run try the model again
            item.prompts, item.keys, item.key = {}, {}, template_hash(item.facts)
    return samples


def _summarize_chunk(
    insights: Sequence[ProductInsight], generator: Generator | None, version: ModelVersion | None, force: bool,
    n: int, use_cache: bool, on_summary: OnSummary | None,
) -> Counter[str]:
    counts: Counter[str] = Counter(generated=0, template=0, unchanged=0)
    params = {**SAMPLING_PARAMS, "n": n}
    pending: list[_Pending] = []
    for insight in insights:
        item = _plan(insight, generator, params)
        if not force and insight.summary and insight.summary_input_hash == item.key:
            counts["unchanged"] += 1
        else:
            pending.append(item)
    if not pending:
        return counts
    samples = _sample(generator, pending, params, use_cache, counts) if generator is not None else {}

    now = timezone.now()
    with transaction.atomic():
        for item in pending:
            summary, model = template_summary(item.facts), None
            if item.prompts:
                written = write_summary(item.facts, item.parts,
                                        {part: samples.get(key, []) for part, key in item.keys.items()})
                counts["parts"] += len(written.parts)
                counts["parts_fallback"] += written.fallback_parts
                counts["parts_unsampled"] += sum(not p.candidates for p in written.parts)
                counts["chosen_not_first"] += written.chosen_not_first
                counts["dropped_sentences"] += sum(p.failed_candidates for p in written.parts)
                for choice in written.parts:
                    if choice.fallback:
                        logger.info("product %s: no %s candidate passed: %s", item.insight.product_id,
                                    choice.part.key, [c.failures for c in choice.candidates])
                if written.generated:
                    summary, model = written.text, version
                if on_summary is not None:
                    on_summary(item.insight.product_id, written)
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
