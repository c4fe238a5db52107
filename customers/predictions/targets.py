"""What each prediction target is about: its horizon, the history it needs and the customers it covers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SEED = 0  # of every fit and every random split: the same data gives the same models and metrics


@dataclass(frozen=True)
class TargetSpec:
    name: str
    horizon: int  # days of outcome after the cutoff
    min_feature_days: int  # days of history before the earliest cutoff
    population: str  # "seen" (any event), "buyers" (>= 1 order), "repeat" (>= 2 orders)
    kind: str  # "classifier", "value", "gap"
    what: str


TARGETS: dict[str, TargetSpec] = {
    spec.name: spec
    for spec in (
        TargetSpec("purchase_30d", 30, 30, "seen", "classifier", "an order in the next 30 days"),
        TargetSpec("churn", 90, 30, "buyers", "classifier", "no order in the next 90 days"),
        TargetSpec("value_90d", 90, 30, "seen", "value", "revenue over the next 90 days"),
        TargetSpec("next_order", 90, 30, "repeat", "gap", "days from the last order to the next"),
    )
}


class NotEnoughHistory(ValueError):
    """A target cannot be trained on this shop's history; the message says what was found and needed."""


def check_targets(targets: Sequence[str] | None) -> list[str]:
    """The named targets without repeats (all of them when none are named); unknown names are an error."""
    if not targets:
        return list(TARGETS)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    return list(dict.fromkeys(targets))
