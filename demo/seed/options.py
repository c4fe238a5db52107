"""What to seed: the size and identity of the demo shop, the keys that mark demo rows, and the report.

Demo rows are recognisable by their keys (SKU `DEMO-00001`, customer `demo-c-00001`, review `demo-r-...`,
event `demo-e-...`, campaign names starting with `[Demo]`); only such rows are ever written or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date
from typing import Any

from django.utils import timezone

SKU_PREFIX = "DEMO-"
CUSTOMER_PREFIX = "demo-c-"
REVIEW_PREFIX = "demo-r-"
EVENT_PREFIX = "demo-e-"
ORDER_PREFIX = "demo-o-"
SESSION_PREFIX = "demo-s-"
CAMPAIGN_PREFIX = "[Demo] "
REVIEW_SOURCE = "demo"
CURRENCY = "USD"

# Limits follow the zero-padded key widths, so keys sort in creation order.
LIMITS = {"products": 99_999, "customers": 99_999, "events": 9_999_999, "reviews": 999_999}


@dataclass(frozen=True)
class SeedOptions:
    """Size and identity of the demo shop. The same seed and anchor always give the same data."""

    seed: int = 42
    products: int = 300
    customers: int = 3000
    events: int = 60_000  # an approximate target; the simulation lands within a few percent
    reviews: int = 4000
    anchor: date | None = None  # events end at midnight UTC of this day; None = today (UTC)
    force: bool = False

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            minimum = 1 if name in ("products", "customers") else 0
            if not isinstance(value, int) or not minimum <= value <= limit:
                raise ValueError(f"{name} must be an integer from {minimum} to {limit}, not {value!r}")

    @property
    def anchor_date(self) -> date:
        return self.anchor or timezone.now().astimezone(UTC).date()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SeedOptions:
        """Build options from JSON-ish job parameters (anchor as "YYYY-MM-DD"); unknown keys are an error."""
        unknown = sorted(set(params) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown seed_demo option(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in params.items():
            if value is None:
                continue
            if key == "anchor":
                values[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
            elif key == "force":
                values[key] = bool(value)
            else:
                values[key] = int(value)
        return cls(**values)


@dataclass
class SeedReport:
    skipped: bool
    counts: dict[str, int]
    seconds: float
    seed: int
    anchor: str
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

