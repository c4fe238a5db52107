"""`manage.py evaluate_recommendations`: every candidate source and the hybrid on an interactions file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference import registry
from recommendations.engine.offline import (
    ONLINE_RETAIL_NON_PRODUCTS,
    InteractionFileError,
    parse_cutoff,
    read_interactions,
    run_evaluation,
    table,
)


class Command(BaseCommand):
    help = (
        "Train popularity, trending, ALS, item-item, co-purchase, content (with --item-text-column) and the "
        "hybrid on rows before --cutoff (or each user's earlier rows with --holdout-fraction), and report "
        "Recall@k, NDCG@k, HitRate@k and catalogue coverage on each user's items new after the split. "
        "Online Retail: --exclude-items " + ",".join(ONLINE_RETAIL_NON_PRODUCTS).replace(" ", "\\ ")
        + " (postage, discounts, fees: not products)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interactions", required=True, type=Path, help="CSV file (.gz accepted).")
        parser.add_argument("--user-column", required=True)
        parser.add_argument("--item-column", required=True)
        parser.add_argument("--time-column", required=True)
        split = parser.add_mutually_exclusive_group(required=True)
        split.add_argument("--cutoff", help="Train before this date (YYYY-MM-DD[THH:MM] or epoch seconds).")
        split.add_argument(
            "--holdout-fraction", type=float, help="Per-user time split: each user's last fraction of rows is test."
        )
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument(
            "--item-text-column",
            help="Item text for the content source (comma-separated columns allowed with --items).",
        )
        parser.add_argument("--items", type=Path, help="Item file holding the text column (e.g. movies.csv).")
        parser.add_argument("--items-key", help="Item id column of --items (default: --item-column).")
        parser.add_argument("--date-format", help="strptime pattern when auto-detection is not wanted.")
        parser.add_argument("--weight-column", help="Row weight; rows with weight <= 0 are dropped and counted.")
        parser.add_argument("--basket-column", help="Order/basket id for co-purchase (default: per user).")
        parser.add_argument(
            "--exclude-items",
            default="",
            help="Comma-separated item codes that are not products (e.g. POST,D,M for Online Retail).",
        )
        parser.add_argument("--no-tune", action="store_true", help="Keep equal fusion weights (no search).")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["k"] < 1:
            raise CommandError("--k must be at least 1")
        try:
            interactions = read_interactions(
                options["interactions"],
                options["user_column"],
                options["item_column"],
                options["time_column"],
                date_format=options["date_format"],
                weight_column=options["weight_column"],
                basket_column=options["basket_column"],
                item_text_column=options["item_text_column"],
                exclude_items=options["exclude_items"].split(","),
                items_file=options["items"],
                items_key=options["items_key"],
            )
            embed = None
            if options["item_text_column"]:
                embed = registry.embedder().encode
            cutoff = parse_cutoff(options["cutoff"]) if options["cutoff"] else None
            report = run_evaluation(
                interactions,
                k=options["k"],
                cutoff=cutoff,
                holdout_fraction=options["holdout_fraction"],
                embed=embed,
                tune=not options["no_tune"],
                seed=options["seed"],
                log=lambda message: self.stderr.write(message),
            )
        except InteractionFileError as error:
            raise CommandError(str(error)) from error
        skipped = ", ".join(f"{n} {why}" for why, n in report.counts["skipped"].items()) or "none"
        self.stderr.write(f"{report.counts['rows']} rows used; skipped: {skipped}")
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.methods, indent=2))
        else:
            self.stdout.write(table(report))
            if report.tuning:
                self.stdout.write(f"fusion weights: {report.tuning['weights']}")
