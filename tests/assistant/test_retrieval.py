"""Retrieval over a small real knowledge base (the real embedder): product scope, the whole store, a Chinese
question, each method, the answerability gate, and the active settings."""

from __future__ import annotations

import pytest

from assistant.retrieval import (
    METHODS,
    RetrievalSettings,
    answerable,
    forget_settings,
    retrieve,
)
from customers.queries import forget_queries

from .builders_retrieval import KnowledgeBase, knowledge_base


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    forget_settings()
    forget_queries()


@pytest.fixture
def kb(db: None) -> KnowledgeBase:
    return knowledge_base()


pytestmark = pytest.mark.slow  # the real embedder (loaded once per process)


def test_product_scope_keeps_the_product_and_the_articles(kb: KnowledgeBase) -> None:
    kettle = kb.products["kettle"]
    found = retrieve("how long is the cable", product_id=kettle.pk, k=20)
    assert found[0].chunk_id == kb.chunks["Cord length"].pk
    assert {e.product_id for e in found} <= {kettle.pk, None}
    assert any(e.kind == "article" for e in found)
    without = retrieve("how long is the cable", product_id=kettle.pk, k=20, include_general=False)
    assert {e.product_id for e in without} == {kettle.pk}


def test_whole_store_finds_the_best_passage_of_any_product(kb: KnowledgeBase) -> None:
    found = retrieve("does it pick up cat hair", k=5)
    assert found[0].chunk_id == kb.chunks["Pet hair"].pk
    assert retrieve("can I send it back for a refund", k=3)[0].chunk_id == kb.chunks["Returns"].pk


def test_a_chinese_question_finds_the_chinese_passage(kb: KnowledgeBase) -> None:
    kettle = kb.products["kettle"]
    for method in ("text", "fusion"):
        settings = RetrievalSettings(method=method)
        found = retrieve("水壶保修多久？", product_id=kettle.pk, language="zh", settings=settings)
        assert found[0].chunk_id == kb.chunks["保修"].pk, method
    assert retrieve("水壶保修多久？", product_id=kettle.pk, settings=RetrievalSettings(method="text"))[0].text_score > 0


@pytest.mark.parametrize("method", METHODS)
def test_each_method_ranks_the_answer_first_with_scores_in_0_1(kb: KnowledgeBase, method: str) -> None:
    grinder = kb.products["grinder"]
    settings = RetrievalSettings(method=method, weight=0.5)
    found = retrieve("how many grind settings are there", product_id=grinder.pk, k=3, settings=settings)
    assert 1 <= len(found) <= 3
    assert found[0].chunk_id == kb.chunks["Grind settings"].pk
    assert [e.score for e in found] == sorted((e.score for e in found), reverse=True)
    for e in found:
        assert 0.0 <= e.score <= 1.0 and 0.0 <= e.text_score <= 1.0 and 0.0 <= e.vector_score <= 1.0
    if method == "text":
        assert all(e.text_score > 0 for e in found)
    if method == "fusion":
        top = found[0]
        assert top.score == pytest.approx(0.5 * top.text_score + 0.5 * top.vector_score, abs=1e-5)


def test_the_gate_answers_strong_evidence_and_hands_off_weak(kb: KnowledgeBase) -> None:
    vacuum = kb.products["vacuum"]
    settings = RetrievalSettings(threshold=0.45)
    strong = retrieve("how long does the battery last", product_id=vacuum.pk, settings=settings)
    weak = retrieve("who won the football match yesterday", product_id=vacuum.pk, settings=settings)
    assert answerable(strong, settings)
    assert not answerable(weak, settings)
    assert strong[0].score > weak[0].score
    assert not answerable([], settings)


def test_empty_question_finds_nothing(kb: KnowledgeBase) -> None:
    assert retrieve("   ") == []
    # only stop words: no full-text query, the vector side still answers
    assert retrieve("is it the", settings=RetrievalSettings(method="text")) == []
    assert retrieve("is it the", settings=RetrievalSettings(method="vector"))
