"""Keeping the demo's processes up: a child that exits is started again, with backoff, and the others go on.

The launcher used to stop everything (web, Redis, PostgreSQL) when one child died, e.g. a worker killed
with SIGKILL. Now each child is restarted after 1, 2, 4 ... seconds (at most `max_delay`); a child that ran
for `stable_after` seconds counts as healthy again and its next restart waits 1 s. No Django here: the
launcher passes a function that starts each child, so this is tested with plain processes.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Starter = Callable[[], "subprocess.Popen[bytes]"]


@dataclass
class Child:
    name: str
    start: Starter
    process: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_at: float | None = None  # when it exited: the moment it may start again


@dataclass
class Supervisor:
    say: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    first_delay: float = 1.0
    max_delay: float = 60.0
    stable_after: float = 60.0
    children: list[Child] = field(default_factory=list)

    def add(self, name: str, start: Starter) -> subprocess.Popen[bytes]:
        process = start()
        self.children.append(Child(name, start, process, self.clock()))
        return process

    def delay(self, failures_in_a_row: int) -> float:
        """Backoff before restart number `failures_in_a_row` (1-based): 1, 2, 4 ... capped."""
        return min(self.max_delay, self.first_delay * 2 ** max(0, failures_in_a_row - 1))

    def check(self) -> list[str]:
        """One round: note children that exited, restart those whose backoff has passed; returns the names
        restarted in this round."""
        now = self.clock()
        restarted: list[str] = []
        for child in self.children:
            if child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                ran = now - child.started_at
                child.failures_in_a_row = 1 if ran >= self.stable_after else child.failures_in_a_row + 1
                wait = self.delay(child.failures_in_a_row)
                child.restart_at = now + wait
                self.say(f"{child.name} exited with {code} after {ran:.0f} s; restarting it in {wait:.0f} s")
            if child.restart_at is not None and now >= child.restart_at:
                child.process = child.start()
                child.started_at = now
                child.restart_at = None
                child.restarts += 1
                restarted.append(child.name)
                self.say(f"{child.name} restarted (pid {child.process.pid}, restart {child.restarts})")
        return restarted

    def processes(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(child.name, child.process) for child in self.children]
