"""A `Progress` for tests (the protocol of `core.progress`, and of the inference trainers' own): it remembers
every total it was told, the work done with its counts, and (done, total) after every step, as a watcher would
have seen them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RecordedProgress:
    totals: list[int] = field(default_factory=list)
    done: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    steps: list[tuple[int, int]] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.totals[-1] if self.totals else 0

    def set_total(self, total: int) -> None:
        self.totals.append(total)

    def advance(self, done: int = 1, **counts: int) -> None:
        self.done += done
        self.counts.update(counts)
        self.steps.append((self.done, self.total))

    def stage(self, name: str) -> None:
        self.stages.append(name)
