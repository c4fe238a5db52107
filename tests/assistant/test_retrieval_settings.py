"""Retrieval settings, the active version and the gate on hand-made evidence (no model)."""

from __future__ import annotations

import pytest

from assistant.evidence import Evidence
from assistant.retrieval import RetrievalSettings, active_settings, answerable, forget_settings
from catalog.model_versions import activate
from catalog.models import ModelRole, ModelVersion


@pytest.fixture(autouse=True)
def _fresh() -> None:
    forget_settings()


def evidence(score: float) -> Evidence:
    return Evidence(chunk_id=1, kind="question", source_id=1, product_id=None, title="t", text="x", language="en",
                    score=score)


def test_the_gate_reads_the_best_score_against_the_threshold() -> None:
    settings = RetrievalSettings(threshold=0.6)
    assert answerable([evidence(0.3), evidence(0.6)], settings)
    assert not answerable([evidence(0.59)], settings)
    assert not answerable([], settings)


@pytest.mark.parametrize(
    "values, message",
    [({"method": "bm25"}, "method 'bm25'"), ({"weight": 1.5}, "weight 1.5"), ({"text_rank": "rank"}, "text_rank")],
)
def test_bad_settings_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetrievalSettings(**values)


@pytest.mark.django_db
def test_active_settings_follow_the_active_version() -> None:
    assert active_settings() == RetrievalSettings()
    first = ModelVersion.objects.create(
        role=ModelRole.ASSISTANT, name="r1", params={"method": "vector", "threshold": 0.4, "unknown": 1}
    )
    activate(first)
    assert active_settings() == RetrievalSettings(method="vector", threshold=0.4, version="r1")
    second = ModelVersion.objects.create(role=ModelRole.ASSISTANT, name="r2", params={"weight": 0.7})
    activate(second)
    assert active_settings().weight == 0.7 and active_settings().version == "r2"
    broken = ModelVersion.objects.create(role=ModelRole.ASSISTANT, name="r3", params={"method": "nonsense"})
    activate(broken)
    assert active_settings() == RetrievalSettings()  # a broken version never stops the assistant
