"""Length-sorted batching: texts of similar length share a batch, so padding (wasted compute) stays
small; results are put back in the caller's order. Pure Python (no torch), so text-only callers such as
`inference.grounding` stay light; padding token rows into tensors is `inference.padding`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Sized
from typing import TypeVar

from .progress import OnBatch

T = TypeVar("T")


def length_sorted_batches(items: Sequence[Sized], batch_size: int) -> Iterator[list[int]]:
    """Yield lists of indices into `items` (texts, or token id lists), longest first, `batch_size` at a time."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def map_batched(
    texts: Sequence[str],
    batch_size: int,
    run: Callable[[list[str]], Sequence[T]],
    on_batch: OnBatch | None = None,
) -> list[T]:
    """Apply `run` to length-sorted batches and return one result per text, in input order."""
    results: list[T | None] = [None] * len(texts)
    for indices in length_sorted_batches(texts, batch_size):
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
