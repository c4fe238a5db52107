"""How model code says how far it is, without knowing who watches.

Two shapes, one definition each: `OnBatch` for serving (called with the number of texts a finished batch
held) and `Progress` for training (a total, then steps done). `Progress` has the shape of the platform's
`core.progress.Progress`, which `inference` may not import: a job context or a command's progress bar
passes straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

OnBatch = Callable[[int], None]  # texts in the batch just finished


class Progress(Protocol):
    def set_total(self, total: int) -> None:
        """How many steps the whole work has (replaces an earlier total)."""

    def advance(self, done: int = 1) -> None:
        """`done` more steps are finished."""


class NoProgress:
    """Reports nowhere: for callers that do not watch."""

    def set_total(self, total: int) -> None:
        pass

    def advance(self, done: int = 1) -> None:
        pass


NO_PROGRESS = NoProgress()
