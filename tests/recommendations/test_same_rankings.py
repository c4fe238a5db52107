"""The request path was made faster (one context query, sparse neighbour scores, reasons from the seeds' rows,
HNSW settings); the rankings must not change: every ranking of a 2,000-product shop is compared with the one the
code before that work produced (`golden.py` says how it was made)."""

from __future__ import annotations

import json
from pathlib import Path

from . import golden


def test_rankings_are_the_same_as_before_the_speed_work(transactional_db: None, models_var: Path) -> None:
    golden.build()
    got = json.loads(json.dumps(golden.rankings()))
    expected = golden.read_golden()
    assert got.keys() == expected.keys()
    assert sum(len(v["items"]) for k, v in expected.items() if not k.startswith("similar")) > 5_000
    different = [key for key in expected if got[key] != expected[key]]
    assert not different, f"{len(different)} rankings differ, e.g. {different[0]}: {got[different[0]]} " \
                          f"!= {expected[different[0]]}"
