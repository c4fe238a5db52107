"""Incremental, resumable work over rows: which rows to do, whether a row changed, chunks committed one
at a time.

Review analysis (and, the same way, product embedding) redoes a row only when the hash of its text and
of the model versions changed, so a re-run does no duplicate work; each chunk commits on its own, so a
killed job resumes where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db.models import QuerySet

from core.progress import Progress


def content_hash(text: str, versions: str) -> str:
    """What a stored result was made from: the model version(s) and the text."""
    return hashlib.sha256(f"{versions}\n{text}".encode()).hexdigest()


def ids_to_do(
    everything: QuerySet[Any], pending: QuerySet[Any], ids: Iterable[int] | None, *, force: bool
) -> list[int]:
    """The given ids (those that exist), else every row when `force`, else the pending ones; in pk order."""
    if ids is not None:
        chosen = everything.filter(pk__in=list(ids))
    elif force:
        chosen = everything
    else:
        chosen = pending
    return list(chosen.order_by("pk").values_list("pk", flat=True))


def in_chunks(
    ids: Sequence[int], size: int, work: Callable[[list[int]], tuple[int, int]], progress: Progress
) -> tuple[int, int]:
    """Run `work` on `size` ids at a time (it commits its chunk and returns (done, skipped)); the sums."""
    done = skipped = 0
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        chunk_done, chunk_skipped = work(chunk)
        done += chunk_done
        skipped += chunk_skipped
        progress.advance(len(chunk))
    return done, skipped
