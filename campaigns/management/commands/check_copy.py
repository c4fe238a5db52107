"""`manage.py check_copy FILE [--format jsonl|table]`: every guardrail on copy written anywhere (JSON Lines
records, see campaigns.copy_records), without the database's campaigns."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter

from campaigns.copy_records import check_lines

HELP = """Run every copy guardrail on JSON Lines copy records and print one result per line, in order.

Each line is an object with channel (email, sms, push), subject, preheader, body, a brief object (goal,
audience, offer, banned_words, required_text, voice, language, landing_url, text), a product object (title,
description, price, currency, brand, attributes) and an optional reviews list; other keys are ignored.
Blank lines are skipped. Output (jsonl): {"line", "passed", "failures": [{"check", "reason"}]}, or
{"line", "passed": false, "error"} for a malformed line.

Exit status: 0 when every line passed, 1 when any line failed a check or was malformed, 2 when FILE
cannot be read."""


def table(rows: list[dict[str, Any]]) -> str:
    """line, passed, and each failed check with its reason (or the error) on a line of its own."""
    out = ["line  passed  failures"]
    for row in rows:
        notes = [f"error: {row['error']}"] if "error" in row else [
            f"{failure['check']}: {failure['reason']}" for failure in row["failures"]
        ]
        first, *rest = notes or ["-"]
        out.append(f"{row['line']:<5} {'yes' if row['passed'] else 'no':<7} {first}")
        out += [f"{'':<13} {note}" for note in rest]
    return "\n".join(out)


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the help's paragraphs kept as written."""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _HelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSON Lines file of copy records, or - for standard input")
        parser.add_argument("--format", choices=("jsonl", "table"), default="jsonl", help="output format")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["file"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"{name}: no such file", returncode=2) from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})", returncode=2) from None
        except OSError as exc:
            raise CommandError(f"{name}: cannot be read ({exc.strerror})", returncode=2) from None
        rows = check_lines(text.splitlines())
        if options["format"] == "table":
            self.stdout.write(table(rows))
        else:
            for row in rows:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
        bad = sum(not row["passed"] for row in rows)
        if bad:
            raise CommandError(f"{bad} of {len(rows)} line(s) failed a check or were malformed", returncode=1)
