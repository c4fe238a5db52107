"""`manage.py import_data KIND FILE`: import a CSV, TSV or JSON Lines file; see ingest/importing.py."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.progress import TqdmProgress
from ingest.errors import DataImportError
from ingest.importing import run_import
from ingest.options import DEFAULT_BATCH_SIZE, KINDS, PRESETS, build_options, parse_pairs
from ingest.reading import FORMATS
from ingest.report import format_report


class Command(BaseCommand):
    help = (
        "Import a CSV, TSV or JSON Lines file (optionally .gz) into products, customers, reviews, events or "
        "product questions. Rows are upserted by their key, so running it twice stores nothing twice. "
        "Columns named like a field are mapped by name; map others with --map field=Column. Rejected "
        "rows are reported with their line, field and reason; the exit status is 0 unless the file could "
        "not be imported at all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help="What the file holds.")
        parser.add_argument("file", help="Path of the file; the format comes from its extension.")
        parser.add_argument(
            "--map", "-m", action="append", default=[], metavar="FIELD=COLUMN",
            help="Take FIELD from COLUMN (repeatable, or comma-separated). attributes.KEY=COLUMN sets a key of "
            "the attributes object.",
        )
        parser.add_argument(
            "--set", action="append", default=[], metavar="FIELD=VALUE",
            help="Give FIELD the same VALUE in every row, e.g. currency=GBP or type=purchase (repeatable).",
        )
        parser.add_argument(
            "--date-format", help="strptime format of the date columns, e.g. '%%d/%%m/%%Y %%H:%%M'; default ISO "
            "8601. Times without a zone are in settings.TIME_ZONE.",
        )
        parser.add_argument("--format", choices=FORMATS, dest="file_format", help="Override the format.")
        parser.add_argument("--encoding", default="utf-8", help="Text encoding of the file (default utf-8).")
        parser.add_argument(
            "--preset", choices=sorted(PRESETS),
            help="Mapping of a known export, e.g. online-retail (UCI Online Retail); --map and --set override it.",
        )
        parser.add_argument(
            "--create-missing-customers", action=argparse.BooleanOptionalAction, default=None,
            help="Events: create a bare customer for each unknown customer id (the online-retail preset does).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction (default %(default)s)."
        )
        parser.add_argument(
            "--errors", metavar="FILE", help="Write every rejection to FILE as CSV (line, field, message)."
        )
        parser.add_argument(
            "--show-errors", type=int, default=20, metavar="N", help="Print the first N rejections (default 20)."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

    def handle(self, *args: Any, **opts: Any) -> None:
        quiet = opts["no_progress"] or opts["verbosity"] <= 0
        try:
            options = build_options(
                opts["kind"],
                preset=opts["preset"],
                mapping=parse_pairs(opts["map"], "mapping"),
                constants=parse_pairs(opts["set"], "constant"),
                date_format=opts["date_format"],
                file_format=opts["file_format"],
                encoding=opts["encoding"],
                create_missing=opts["create_missing_customers"],
                batch_size=opts["batch_size"],
            )
            with TqdmProgress("rows", disable=quiet, dynamic_ncols=True) as progress:
                report = run_import(opts["file"], options, progress=progress, errors_path=opts["errors"])
        except DataImportError as exc:
            raise CommandError(str(exc)) from exc
        text = format_report(report, show_errors=max(0, opts["show_errors"]))
        self.stdout.write(text)
        if opts["errors"]:
            self.stdout.write(f"Every rejection is in {opts['errors']}.")
