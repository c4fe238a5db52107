"""One query-embedding function with one bounded cache: rows in input order, each text embedded once while
cached, least recently used dropped first, emptied when another encoder asks; profiles go through it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from customers import profiles, queries
from tests.customers.builders import customer, event
from tests.vectors import FakeEmbedder, fake_embed


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    queries.forget_queries()
    yield
    queries.forget_queries()


def test_rows_in_input_order_and_each_text_embedded_once() -> None:
    embedder = FakeEmbedder()
    vectors = queries.embed_queries(["tea", "mug", "tea"], embedder.encode)
    np.testing.assert_allclose(vectors, fake_embed(["tea", "mug", "tea"]))
    assert vectors.dtype == np.float32
    assert sorted(embedder.seen) == ["mug", "tea"]
    queries.embed_queries(["mug", "pot"], embedder.encode)
    assert sorted(embedder.seen) == ["mug", "pot", "tea"]


def test_the_cache_is_bounded_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "CACHE_SIZE", 2)
    embedder = FakeEmbedder()
    queries.embed_queries(["a1", "b1"], embedder.encode)
    queries.embed_queries(["a1"], embedder.encode)  # a1 used again: b1 is now the oldest
    queries.embed_queries(["c1"], embedder.encode)  # over the bound: b1 leaves
    assert len(queries._cache) == 2
    embedder.seen.clear()
    queries.embed_queries(["a1", "b1", "c1"], embedder.encode)
    assert embedder.seen == ["b1"]
    big = [f"q{i}" for i in range(5)]  # more than the bound in one call: every row still comes back
    np.testing.assert_allclose(queries.embed_queries(big, embedder.encode), fake_embed(big))


def test_another_encoder_empties_the_cache() -> None:
    first, second = FakeEmbedder(), FakeEmbedder()
    queries.embed_queries(["tea"], first.encode)
    queries.embed_queries(["tea"], second.encode)
    assert first.seen == second.seen == ["tea"]


@pytest.mark.django_db
def test_profile_runs_share_the_cache() -> None:
    ann = customer()
    event(ann, "search", days_ago=1, query="Red teapot")
    embedder = FakeEmbedder()
    profiles.rebuild_profiles(embed_texts=embedder.encode)
    profiles.rebuild_profiles(embed_texts=embedder.encode)  # a later run: the query is not embedded again
    assert embedder.seen == ["red teapot"]
    assert queries.embed_queries(["red teapot"], embedder.encode).shape == (1, 384)
    assert embedder.seen == ["red teapot"]
