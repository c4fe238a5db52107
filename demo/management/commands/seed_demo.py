"""`manage.py seed_demo`: create the reproducible demo shop (see the demo.seed package for what it contains)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.progress import TqdmProgress
from demo.seed import SeedOptions, seed_shop


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--anchor must be a date like 2025-06-30, not {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Create a believable demo shop: products with real descriptions, customers with coherent "
        "interests, months of events and thousands of reviews. The same --seed and --anchor always "
        "produce the same data; the anchor defaults to today (UTC), so the history ends today. "
        "Skips when demo data exists, unless --force (which replaces demo rows only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SeedOptions()
        parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
        parser.add_argument(
            "--anchor", type=_date, default=None,
            help="events end at midnight UTC of this day, YYYY-MM-DD (default: today, UTC)",
        )
        parser.add_argument("--products", type=int, default=defaults.products, help="default %(default)s")
        parser.add_argument("--customers", type=int, default=defaults.customers, help="default %(default)s")
        parser.add_argument(
            "--events", type=int, default=defaults.events, help="approximate number of events (default %(default)s)"
        )
        parser.add_argument("--reviews", type=int, default=defaults.reviews, help="default %(default)s")
        parser.add_argument("--force", action="store_true", help="replace existing demo rows (upsert by key)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            options = SeedOptions(
                seed=opts["seed"], products=opts["products"], customers=opts["customers"],
                events=opts["events"], reviews=opts["reviews"], anchor=opts["anchor"], force=opts["force"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        with TqdmProgress(unit="rows", disable=opts["verbosity"] < 1) as progress:
            report = seed_shop(options, progress=progress)
        if report.skipped:
            self.stdout.write(self.style.WARNING(f"{report.message} ({report.seconds:.2f} s)"))
            return
        counts = ", ".join(f"{key} {value}" for key, value in report.counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo shop seeded (seed {report.seed}, anchor {report.anchor}) in {report.seconds:.1f} s: {counts}"
            )
        )
