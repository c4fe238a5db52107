"""tune_assistant: refuses too little data, stores a version with params and metrics, activates it only when it
beats the active one; the numpy fusion table agrees with serving's ranking; the gate's calibration."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assistant.measuring import QA, FusionTable, Observation, calibrate_threshold, handoff_rates, ranking_metrics
from assistant.models import KnowledgeChunk, ProductQuestion
from assistant.retrieval import Candidate, RetrievalSettings, active_settings, forget_settings
from assistant.tuning import MIN_QUESTIONS, TuningError, tune_assistant
from catalog.models import ModelRole, ModelVersion, Product
from jobs.models import JobStatus
from jobs.runner import start_job
from tests.catalog.builders import product

TOPICS = [
    ("battery", "How long does the battery last?", "The battery lasts about six hours of continuous use."),
    ("cord", "How long is the power cord?", "The power cord measures roughly one and a half metres."),
    ("warranty", "What warranty does it have?", "It comes with a two year manufacturer warranty."),
    ("wash", "Can the parts go in the dishwasher?", "All removable parts are dishwasher safe on the top rack."),
    ("noise", "Is it noisy when running?", "It is fairly quiet, about as loud as a normal conversation."),
    ("weight", "How heavy is it?", "It weighs just under three kilograms without the accessories."),
    ("colour", "Which colours are available?", "You can choose between matte black, white and sage green."),
    ("voltage", "Will it work on 110 volts?", "No, it is built for 220 to 240 volt outlets only."),
]


def shop_questions(products: int = 6) -> None:
    for p in range(products):
        item = product(title=f"Appliance {p}")
        for topic, question, answer in TOPICS:
            ProductQuestion.objects.create(
                external_id=f"{p}-{topic}", product=item, question=question, answer=f"{answer} (model {p})"
            )


@pytest.fixture(autouse=True)
def _fresh() -> None:
    forget_settings()


@pytest.mark.django_db
def test_too_few_answered_questions_are_refused_with_the_counts() -> None:
    item = product()
    ProductQuestion.objects.create(
        external_id="a", product=item, question="Any good?", answer="Yes, very good indeed here."
    )
    ProductQuestion.objects.create(external_id="b", product=item, question="Colour?", answer="Red")  # too short
    with pytest.raises(TuningError, match=f"found 1 answered questions .* on 1 products; .* at least {MIN_QUESTIONS}"):
        tune_assistant()
    with pytest.raises(CommandError, match="found 1 answered"):
        call_command("tune_assistant")
    assert not ModelVersion.objects.filter(role=ModelRole.ASSISTANT).exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_tuning_stores_and_activates_a_version_and_leaves_the_knowledge_alone() -> None:
    shop_questions()
    products_before = Product.objects.count()
    outcome = tune_assistant(name="retrieval-test")
    version = ModelVersion.objects.get(role=ModelRole.ASSISTANT, name="retrieval-test")
    assert outcome.activated and version.is_active
    assert version.params["method"] in {"fusion", "text", "vector", "rrf"}
    assert 0.0 <= version.params["threshold"] <= 1.0 and 0.0 <= version.params["weight"] <= 1.0
    metrics = version.metrics
    assert metrics["questions"] == 48 and metrics["products"] == 6
    assert metrics["tuning_questions"] + metrics["validation_questions"] == 48
    assert 0.5 < metrics["mrr_at_10"] <= 1.0  # eight distinct topics per product: easy
    assert set(metrics["methods"]) == {"fusion", "text", "vector", "rrf"}
    assert 0.0 <= metrics["gate"]["balanced_accuracy"] <= 1.0
    assert active_settings().version == "retrieval-test"
    assert KnowledgeChunk.objects.count() == 0 and Product.objects.count() == products_before  # rolled back
    # the same data again: equal, not better, so the active version stays
    again = tune_assistant(name="retrieval-test-2")
    assert not again.activated
    assert again.metrics["active_version"] == "retrieval-test"
    with pytest.raises(TuningError, match="exists already"):
        tune_assistant(name="retrieval-test")


def _candidate(chunk_id: int, text_rank: float, cosine: float) -> Candidate:
    return Candidate(chunk_id, "question", chunk_id, 1, "", "", "en", text_rank, cosine, text_rank > 0, True)


def test_the_fusion_table_agrees_with_serving_ranking() -> None:
    observations = [
        Observation(QA("g", "q", "a", 1), frozenset({2}), [_candidate(1, 0.2, 0.5), _candidate(2, 0.0, 0.6),
                                                            _candidate(3, 0.9, 0.1)]),
        Observation(QA("g", "q", "a", 2), frozenset({5}), [_candidate(4, 0.0, 0.3), _candidate(5, 0.0, 0.3)]),
        Observation(QA("h", "q", "a", 3), frozenset({9}), [_candidate(6, 0.1, 0.2)]),  # answer not found
    ]
    table = FusionTable(observations)
    for weight in (0.0, 0.3, 0.7, 1.0):
        for scale in (0.1, 1.0):
            settings = RetrievalSettings(weight=weight, text_scale=scale)
            served = ranking_metrics(observations, settings, 10)["mrr_at_k"]
            assert table.mrr(weight, scale, 10) == pytest.approx(served, abs=1e-4)


def test_the_threshold_separates_present_from_removed() -> None:
    present, removed = [0.9, 0.8, 0.7, 0.6], [0.5, 0.3, 0.2, 0.65]
    threshold = calibrate_threshold(present, removed)
    assert threshold == 0.55  # half-way; 0.675 is as accurate, and the lower one answers more
    rates = handoff_rates(present, removed, threshold)
    assert rates == {
        "handoff_rate_answer_present": 0.0, "handoff_rate_answer_removed": 0.75, "balanced_accuracy": 0.875
    }
    assert calibrate_threshold([], []) == 0.5


@pytest.mark.django_db
def test_the_job_kind_runs_tuning_and_records_why_it_failed(run_on_commit: None) -> None:
    job = start_job("tune_assistant", {"name": "from-job"})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "found 0 answered questions" in job.error


@pytest.mark.django_db
def test_the_demo_skips_tuning_a_shop_with_too_few_answers(run_on_commit: None) -> None:
    job = start_job("tune_assistant", {"skip_if_too_few": True})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "found 0 answered questions" in job.result["skipped"]
    assert not ModelVersion.objects.filter(role="assistant").exists()
