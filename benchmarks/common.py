from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    unit: str  # what one item is, e.g. "rows"
    items: int
    median_seconds: float
    baseline: str | None = None  # name of the result this one is compared with

    @property
    def per_second(self) -> float:
        return self.items / self.median_seconds if self.median_seconds else float("inf")


def median_time(func: Callable[[], object], repeats: int = 5, setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(results: list[Result]) -> str:
    by_name = {r.name: r for r in results}
    lines = [f"{'benchmark':<44} {'items':>7} {'median s':>9} {'per s':>10} {'vs baseline':>12}"]
    for r in results:
        ratio = ""
        if r.baseline and r.baseline in by_name:
            ratio = f"{r.per_second / by_name[r.baseline].per_second:.2f}x"
        lines.append(f"{r.name:<44} {r.items:>7} {r.median_seconds:>9.3f} {r.per_second:>10.0f} {ratio:>12}")
    return "\n".join(lines)
