"""Run every benchmark module against a separate database (`ecommarketing_bench`), print a table."""

from __future__ import annotations

import importlib
import os
import sys

MODULES = [
    "benchmarks.ingest", "benchmarks.insight", "benchmarks.profiles", "benchmarks.recommendations", "benchmarks.pages",
    "benchmarks.fanout", "benchmarks.workers",
]


def main() -> int:
    """`python -m benchmarks [name ...]` runs the named modules (e.g. `recommendations`), by default all."""
    chosen = [f"benchmarks.{name}" for name in sys.argv[1:]] or MODULES
    unknown = sorted(set(chosen) - set(MODULES))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")
    if not os.environ.get("DATABASE_URL"):
        from core import embedded

        os.environ["DATABASE_URL"] = embedded.ensure_postgres(database="ecommarketing_bench").url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from .common import report

    results = []
    for name in chosen:
        print(f"running {name} ...", flush=True)
        results.extend(importlib.import_module(name).run())
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
