"""A `Progress` for tests: it keeps (done, total) after every step, as a watcher would have seen them."""

from __future__ import annotations


class ProgressLog:
    def __init__(self) -> None:
        self.done = 0
        self.total = 0
        self.steps: list[tuple[int, int]] = []

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, done: int = 1) -> None:
        self.done += done
        self.steps.append((self.done, self.total))
