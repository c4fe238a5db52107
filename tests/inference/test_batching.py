"""Length-sorted batches: fixed counts by default, and with `min_share` a cut before a much shorter text, so an
encoder does not pad a short clause to the length of a long review."""

from __future__ import annotations

import pytest

from inference.batching import MIN_SPLIT, length_sorted_batches, map_batched


def test_batches_are_longest_first_and_hold_batch_size_items() -> None:
    texts = ["a" * n for n in (3, 9, 1, 7, 5)]
    assert list(length_sorted_batches(texts, 2)) == [[1, 3], [4, 0], [2]]


def test_min_share_closes_a_batch_before_a_much_shorter_text() -> None:
    lengths = [400] * MIN_SPLIT + [390, 100, 90, 85] + [20] * 3
    texts = ["x" * n for n in lengths]
    batches = [[lengths[i] for i in batch] for batch in length_sorted_batches(texts, 64, min_share=0.8)]
    # 100 < 0.8 x 400 closes the first batch; the second holds fewer than MIN_SPLIT, so 20 joins it
    assert batches == [[400] * MIN_SPLIT + [390], [100, 90, 85, 20, 20, 20]]
    # every item is in exactly one batch, and without min_share the count alone decides
    assert sorted(i for b in length_sorted_batches(texts, 64, min_share=0.8) for i in b) == list(range(len(texts)))
    assert [len(b) for b in length_sorted_batches(texts, 64)] == [len(texts)]


def test_map_batched_keeps_input_order_whatever_the_batches() -> None:
    texts = ["x" * n for n in (5, 300, 40, 300, 2, 120, 7, 300, 300, 300, 300, 300, 300, 80)]
    assert map_batched(texts, 4, lambda batch: [len(t) for t in batch], min_share=0.8) == [len(t) for t in texts]


def test_min_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_share"):
        list(length_sorted_batches(["a"], 2, min_share=1.5))
