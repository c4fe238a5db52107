"""Length-sorted batching: texts of similar length share a batch, so padding (wasted compute) stays
small; results are put back in the caller's order. Pure Python (no torch), so text-only callers such as
`inference.grounding` stay light; padding token rows into tensors is `inference.padding`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Sized
from typing import TypeVar

from .progress import OnBatch

T = TypeVar("T")


MIN_SPLIT = 8  # items a batch holds before a length cut may close it (fewer: the call overhead dominates)


def length_sorted_batches(items: Sequence[Sized], batch_size: int, min_share: float = 0.0) -> Iterator[list[int]]:
    """Yield lists of indices into `items` (texts, or token id lists), longest first, `batch_size` at a time.

    `min_share` > 0 also closes a batch (of at least MIN_SPLIT items) before an item shorter than that share
    of the batch's longest: a batch of 64 texts from 900 down to 60 characters pads them all to 900, so an
    encoder spends most of its work on padding; cut at 0.8, no text is padded by more than a quarter."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not 0.0 <= min_share < 1.0:
        raise ValueError("min_share must be at least 0 and below 1")
    order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
    batch: list[int] = []
    for index in order:
        if batch and (
            len(batch) >= batch_size
            or (len(batch) >= MIN_SPLIT and len(items[index]) < min_share * len(items[batch[0]]))
        ):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


def map_batched(
    texts: Sequence[str],
    batch_size: int,
    run: Callable[[list[str]], Sequence[T]],
    on_batch: OnBatch | None = None,
    min_share: float = 0.0,
) -> list[T]:
    """Apply `run` to length-sorted batches (`length_sorted_batches`) and return one result per text, in
    input order."""
    results: list[T | None] = [None] * len(texts)
    for indices in length_sorted_batches(texts, batch_size, min_share):
        outputs = run([texts[i] for i in indices])
        if len(outputs) != len(indices):
            raise RuntimeError(f"batch of {len(indices)} texts gave {len(outputs)} results")
        for index, output in zip(indices, outputs, strict=True):
            results[index] = output
        if on_batch is not None:
            on_batch(len(indices))
    return results  # type: ignore[return-value]


def clean_text(text: object, max_chars: int = 20_000) -> str:
    """Normalise one input: None and non-strings become text, NULs and control characters go, runs
    of whitespace collapse, and absurdly long texts are cut (the tokenizer truncates to the model's
    window anyway; this bounds the work before it)."""
    if text is None:
        return ""
    value = str(text)[:max_chars]
    value = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in value)
    return " ".join(value.split())
