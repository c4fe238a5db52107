"""How long work says how far it is, whoever watches: a job row, a progress bar, or nobody.

Domain functions take one `progress: Progress` argument and call `set_total`, `advance` and `stage` on it;
they never know whether a Celery job (`jobs.runner.JobContext`), a management command (`TqdmProgress`)
or a test (`NO_PROGRESS`) is listening.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from tqdm import tqdm


class Progress(Protocol):
    def set_total(self, total: int) -> None:
        """How many units the whole work has (replaces an earlier total)."""

    def advance(self, done: int = 1, **counts: int) -> None:
        """`done` more units are finished; `counts` add to named outcome counters (created=3, skipped=1)."""

    def stage(self, name: str) -> None:
        """What the work is doing now, in words a person watching understands ("reading events")."""


class NoProgress:
    """Reports nowhere: for tests and for callers that do not watch."""

    def set_total(self, total: int) -> None:
        pass

    def advance(self, done: int = 1, **counts: int) -> None:
        pass

    def stage(self, name: str) -> None:
        pass


NO_PROGRESS = NoProgress()


class TqdmProgress:
    """A tqdm bar on stderr for management commands; counters and the stage show beside it."""

    def __init__(self, unit: str = "it", *, disable: bool = False, **options: Any) -> None:
        self.bar = tqdm(total=None, unit=unit, file=sys.stderr, disable=disable, **options)
        self.counts: dict[str, int] = {}
        self._stage = ""

    def set_total(self, total: int) -> None:
        self.bar.total = total
        self.bar.refresh()

    def advance(self, done: int = 1, **counts: int) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        if counts:
            self._postfix()
        self.bar.update(done)

    def stage(self, name: str) -> None:
        self._stage = name
        self._postfix()

    def _postfix(self) -> None:
        parts = [self._stage] if self._stage else []
        parts += [f"{key}={value}" for key, value in self.counts.items()]
        self.bar.set_postfix_str(", ".join(parts))

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
