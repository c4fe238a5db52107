"""Words for full-text search: Chinese segmented on both sides, so PostgreSQL's `english` tsvector matches."""

from __future__ import annotations

import pytest
from django.db import connection

from assistant.tokens import query_terms, search_text


def test_search_text_segments_chinese_and_leaves_other_text() -> None:
    assert search_text("电池续航很好", "zh") == "电池 续航 很 好"
    assert search_text("Battery life: great, don't worry.", "en") == "Battery life: great, don't worry."
    assert search_text("USB充电口", "zh") == "USB 充电 口"
    assert search_text("", "en") == ""


def test_query_terms_strip_punctuation_duplicates_and_chinese_particles() -> None:
    assert query_terms("Is the battery good? Battery, really!", "en") == ["is", "the", "battery", "good", "really"]
    assert query_terms("电池续航好吗？", "zh") == ["电池", "续航", "好"]
    assert query_terms("Lasts 3.5 hours", "en") == ["lasts", "3.5", "hours"]
    assert query_terms("?!", "en") == []


@pytest.mark.django_db
def test_english_tsvector_matches_segmented_chinese() -> None:
    with connection.cursor() as cursor:
        terms = " | ".join(f"'{t}'" for t in query_terms("续航怎么样", "zh"))
        cursor.execute(
            "SELECT to_tsvector('english', %s) @@ to_tsquery('english', %s)",
            [search_text("这款耳机的电池续航很好", "zh"), terms],
        )
        assert cursor.fetchone()[0] is True
