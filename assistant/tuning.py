"""Tuning retrieval and the answerability gate on the shop's own answered questions (`tune_assistant`).

The shop's answered `ProductQuestion`s (answers of 25 or more characters) are split by product, half for
tuning and half for validation, so a product's questions never inform the numbers they are judged by.
Each question is asked against its product's answers (as a shopper asks on a product page; see
`measuring.py` for why a chunk holds the answer only). The fusion weight and text scale are chosen on the
tuning half; the method (that fusion, full-text, vector or reciprocal-rank fusion) by MRR@10 on validation;
the gate's threshold on validation, as the best balanced accuracy between questions whose answer is in the
knowledge and the same questions with it removed: a wrong answer and a needless hand-off cost the shop about
the same, and the mix of the two cases in the calibration set is artificial (one of each per question), so
no class should win by being frequent. The result is a ModelVersion of role "assistant" (params: the
settings; metrics: validation figures), activated when its MRR@10 beats the active version's measured on the
same validation questions, or when none is active.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.db.models.functions import Length

from catalog.model_versions import activate_if_better, active_version, check_new_version_name, default_version_name
from catalog.models import ModelRole, ModelVersion
from inference import registry

from .measuring import (
    MIN_ANSWER_CHARS,
    QA,
    EmbedTexts,
    Observation,
    calibrate_threshold,
    gate_scores,
    handoff_rates,
    observe,
    ranking_metrics,
    single_methods,
    temporary_knowledge,
    tune_fusion,
)
from .models import ProductQuestion
from .retrieval import RetrievalSettings, forget_settings

MIN_QUESTIONS = 40
MIN_PRODUCTS = 4  # two products in each half at least
K = 10
METHOD_ORDER = ("fusion", "vector", "text", "rrf")  # on equal MRR the earlier wins


class TuningError(ValueError):
    """Tuning cannot run (too few answered questions, a taken version name)."""


class NotEnoughQuestions(TuningError):
    """The shop has too few answered questions to measure anything on."""


@dataclass
class TuningOutcome:
    version: ModelVersion
    settings: RetrievalSettings
    activated: bool
    metrics: dict[str, Any]


def answered_questions() -> list[QA]:
    """The shop's questions with an answer of MIN_ANSWER_CHARS or more, grouped by product."""
    rows = (
        ProductQuestion.objects.annotate(answer_length=Length("answer"))
        .filter(answer_length__gte=MIN_ANSWER_CHARS)
        .order_by("product_id", "id")
        .values_list("id", "product_id", "question", "answer")
    )
    return [
        QA(str(product_id), question.strip(), answer.strip(), pk)
        for pk, product_id, question, answer in rows
        if question.strip() and len(answer.strip()) >= MIN_ANSWER_CHARS
    ]


def split_products(items: list[QA]) -> tuple[set[str], set[str]]:
    """Products in a stable pseudo-random order, alternately to tuning and validation (balanced halves)."""
    products = sorted({i.group for i in items}, key=lambda g: hashlib.sha256(f"tune:{g}".encode()).hexdigest())
    return set(products[0::2]), set(products[1::2])


def _observations_for(
    settings: RetrievalSettings, cache: dict[tuple[Any, ...], list[Observation]], collect: Callable[..., Any]
) -> list[Observation]:
    """Observations searched with the SQL-side settings of `settings` (ranking function, normalisation, pool)."""
    key = (settings.text_rank, settings.normalization, settings.pool)
    if key not in cache:
        cache[key] = collect(settings)
    return cache[key]


def tune_assistant(
    *, name: str | None = None, activate: bool = True, job_id: int | None = None, embed_texts: EmbedTexts | None = None
) -> TuningOutcome:
    items = answered_questions()
    products = {i.group for i in items}
    if len(items) < MIN_QUESTIONS or len(products) < MIN_PRODUCTS:
        raise NotEnoughQuestions(
            f"found {len(items)} answered questions (answers of {MIN_ANSWER_CHARS}+ characters) on {len(products)} "
            f"products; tuning needs at least {MIN_QUESTIONS} on {MIN_PRODUCTS} products"
        )
    name = name or default_version_name("retrieval")
    check_new_version_name(ModelRole.ASSISTANT, name, TuningError, "an assistant version")
    embed = embed_texts or registry.embedder().encode
    tuning_products, _ = split_products(items)
    base = RetrievalSettings()
    current = active_version(ModelRole.ASSISTANT)
    current_settings = None
    if current is not None:
        try:
            current_settings = RetrievalSettings.from_params(current.params or {}, version=current.name)
        except (TypeError, ValueError):
            current_settings = None  # a broken version is beaten by any working one
    cache: dict[tuple[Any, ...], list[Observation]] = {}
    with temporary_knowledge(items, embed) as knowledge:
        def collect(settings: RetrievalSettings) -> list[Observation]:
            return observe(items, knowledge, scope="group", settings=settings, embed_texts=embed)

        observations = _observations_for(base, cache, collect)
        current_observations = _observations_for(current_settings, cache, collect) if current_settings else None
    tuning = [o for o in observations if o.item.group in tuning_products]
    validation = [o for o in observations if o.item.group not in tuning_products]

    candidates = {"fusion": tune_fusion(tuning, base, K), **single_methods(base)}
    scores = {method: ranking_metrics(validation, settings, K) for method, settings in candidates.items()}
    method = max(METHOD_ORDER, key=lambda m: (scores[m]["mrr_at_k"], -METHOD_ORDER.index(m)))
    present, removed = gate_scores(validation, candidates[method], K)
    threshold = calibrate_threshold(present, removed)
    chosen = replace(candidates[method], threshold=threshold, version=name)
    active_mrr = None
    if current_settings is not None and current_observations is not None:
        current_validation = [o for o in current_observations if o.item.group not in tuning_products]
        active_mrr = ranking_metrics(current_validation, current_settings, K)["mrr_at_k"]
    metrics: dict[str, Any] = {
        "mrr_at_10": scores[method]["mrr_at_k"],
        "recall_at_1": scores[method]["recall_at_1"],
        "recall_at_5": scores[method]["recall_at_5"],
        "methods": scores,
        "gate": {**handoff_rates(present, removed, threshold), "threshold": threshold},
        "questions": len(items),
        "products": len(products),
        "tuning_questions": len(tuning),
        "validation_questions": len(validation),
        "active_version_mrr_at_10": active_mrr,
        "active_version": current.name if current else None,
    }
    version = ModelVersion.objects.create(
        role=ModelRole.ASSISTANT, name=name, params=chosen.params(), metrics=metrics, job_id=job_id,
        base_model=getattr(registry.embedder(), "version", "") if embed_texts is None else "",
    )
    activated = activate_if_better(version, "mrr_at_10", scores[method]["mrr_at_k"], active_mrr) if activate else False
    if activated:
        forget_settings()
    return TuningOutcome(version, chosen, activated, metrics)
