"""Follow-ups are joined to the previous question; self-contained questions and topic switches are not."""

from __future__ import annotations

import pytest

from assistant.followups import MAX_QUERY_CHARS, Turn, is_followup, resolve
from assistant.models import Intent

BLACK = Turn("Does it come in black?", "Does it come in black?", Intent.PRODUCT_QUESTION)
SHIPPING = Turn("How long does shipping take?", "How long does shipping take?", Intent.DELIVERY)
ZH = Turn("这款耳机有白色的吗？", "这款耳机有白色的吗？", Intent.PRODUCT_QUESTION)


@pytest.mark.parametrize(
    "text",
    ["and in blue?", "what about the 2-pack?", "does it?", "in blue?", "How about the large one?",
     "Also, is it waterproof?", "那黑色的呢", "黑色呢？", "还有蓝色吗", "有大号吗"],
)
def test_follow_ups(text: str) -> None:
    assert is_followup(text)


@pytest.mark.parametrize(
    "text",
    ["Is the battery replaceable?", "Does it come with a charger and a case?", "How long does delivery take?",
     "这款耳机的续航多久？", "thanks", "谢谢", "hi", ""],
)
def test_self_contained_questions(text: str) -> None:
    assert not is_followup(text)


def test_a_follow_up_joins_the_previous_question_without_its_connective() -> None:
    resolved = resolve("and in blue?", [BLACK], Intent.PRODUCT_QUESTION)
    assert resolved.followup and resolved.query == "Does it come in black? in blue?"
    assert resolved.previous == BLACK.resolved_query


def test_a_chain_of_follow_ups_builds_on_the_resolved_query() -> None:
    first = resolve("and in blue?", [BLACK], Intent.PRODUCT_QUESTION)
    second_turn = Turn("and in blue?", first.query, Intent.PRODUCT_QUESTION)
    second = resolve("what about the 2-pack?", [BLACK, second_turn], Intent.PRODUCT_QUESTION)
    assert second.query == "Does it come in black? in blue? the 2-pack?"


def test_chinese_follow_up() -> None:
    resolved = resolve("那黑色的呢", [ZH], Intent.PRODUCT_QUESTION)
    assert resolved.followup and resolved.query == "这款耳机有白色的吗？ 黑色的呢"


def test_a_self_contained_question_is_left_alone() -> None:
    resolved = resolve("Is the battery replaceable?", [BLACK], Intent.PRODUCT_QUESTION)
    assert resolved == resolve("Is the battery replaceable?", [], Intent.PRODUCT_QUESTION)
    assert not resolved.followup and resolved.query == "Is the battery replaceable?"


def test_without_history_nothing_is_joined() -> None:
    assert resolve("and in blue?", [], Intent.PRODUCT_QUESTION).query == "and in blue?"


def test_a_switch_to_delivery_or_returns_is_searched_alone_but_a_delivery_follow_up_is_joined() -> None:
    assert resolve("and returns?", [BLACK], Intent.RETURNS).query == "and returns?"
    assert resolve("and to Canada?", [SHIPPING], Intent.PRODUCT_QUESTION).query == (
        "How long does shipping take? to Canada?"
    )
    assert resolve("and express shipping?", [SHIPPING], Intent.DELIVERY).followup


def test_a_long_chain_keeps_its_latest_words() -> None:
    turn = Turn("x", "word " * 200, Intent.PRODUCT_QUESTION)
    resolved = resolve("and in blue?", [turn], Intent.PRODUCT_QUESTION)
    assert len(resolved.query) <= MAX_QUERY_CHARS and resolved.query.endswith("in blue?")
