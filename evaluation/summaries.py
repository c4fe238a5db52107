"""Product summaries with the real default generation model: `python -m evaluation.summaries`.

Uses the scratch database of `evaluation.campaign_copy` (its `_setup` and `prepare_shop`: the demo shop
seeded, reviews analysed, product insight computed; each step skips what is done), then summarises the top
products by review count (8 by default) part by part (one sentence per aspect), best of n
(`catalog.summaries`), sampling afresh (the `GeneratedText` cache is not read). Reports per summary and in all:
the checks the finished summary passes (grounding of every sentence against the whole insight, each part's
sentence reading the way its aspect leans and carrying the insight's count, repetition, stray characters,
unbalanced quotes and brackets, reading grade), the parts that fell back to the template, how often the chosen
candidate was not the first sampled, the repeated runs, the reading grade and the seconds per summary (a
chunk's time shared by its summaries). Writes var/eval/summaries.json. CPU-heavy: run it under
`flock /tmp/ecom-heavy.lock`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .campaign_copy import DATABASE, _setup, prepare_shop

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "var" / "eval" / "summaries.json"
GRADE_MAX = 12.0  # the reading grade a finished summary should stay within (each part's limit too)


def rubric(summary: str, facts: Any, parts: Sequence[tuple[Any, str]] = ()) -> dict[str, Any]:
    """The checks of one finished summary (its parts as (SummaryPart, sentence) pairs): each check's verdict,
    what it found, the reading grade."""
    from catalog.summaries.choosing import repeated_words
    from catalog.summaries.grounding import ground
    from catalog.summaries.polarity import polarity_failures
    from catalog.summaries.prompt import counted
    from inference.text_checks import reading_grade, repeated_sentences, stray_characters, unbalanced

    texts = [text for _, text in parts] or [summary]
    grounded = ground(summary, facts, max_sentences=10)
    grade = reading_grade(summary)
    found = {
        "grounded": [f"{sentence} ({why})" for sentence, why in grounded.dropped],
        "polarity": [f"{text} ({why})" for part, text in parts
                     for why in polarity_failures(text, part.kind, [part.aspect, facts.title])],
        "counts": [text for part, text in parts if counted(part, facts.review_count) not in text],
        "repetition": repeated_sentences(texts) + repeated_words(texts, facts.title),
        "stray_characters": stray_characters(summary, latin_only=True),
        "unbalanced": unbalanced(summary),
        "readability": [f"grade {grade:g}"] if grade is not None and grade > GRADE_MAX else [],
    }
    return {"checks": {name: not problems for name, problems in found.items()},
            "problems": {name: problems for name, problems in found.items() if problems},
            "reading_grade": grade, "repetition": found["repetition"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--top", type=int, default=8, help="Products summarised (most reviews first).")
    parser.add_argument("--chunk", type=int, default=8, help="Products per sampling round (and per timing).")
    parser.add_argument("--products", type=int, default=80)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--reviews", type=int, default=1500)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--database", default=DATABASE, help="Scratch database (embedded server) to use.")
    args = parser.parse_args(argv)
    _setup(args.database)
    from catalog.models import ProductInsight
    from catalog.summaries.choosing import Written
    from catalog.summaries.prompt import facts_from_insight
    from catalog.summaries.summarizing import summarize_products, top_product_ids
    from inference import registry
    from inference.registry import candidates_per_part

    print("preparing the demo shop ...", flush=True)
    steps = prepare_shop(args)
    print(json.dumps(steps, default=str)[:600], flush=True)
    started = time.perf_counter()
    generator = registry.generator()
    load_seconds = time.perf_counter() - started
    n = candidates_per_part(generator)
    print(f"generation model {generator.name} loaded in {load_seconds:.1f} s; {n} candidates a part", flush=True)

    ids = top_product_ids(args.top)
    written: dict[int, Written] = {}
    seconds: dict[int, float] = {}
    counts: dict[str, int] = {}
    for start in range(0, len(ids), max(1, args.chunk)):
        chunk = ids[start : start + max(1, args.chunk)]
        began = time.perf_counter()
        got = summarize_products(chunk, generator, force=True, use_cache=False, chunk=len(chunk),
                                 on_summary=lambda pid, w: written.__setitem__(pid, w))
        elapsed = time.perf_counter() - began
        seconds.update({pid: elapsed / len(chunk) for pid in chunk})
        counts = {key: counts.get(key, 0) + got.get(key, 0) for key in {*counts, *got}}
        print(f"{start + len(chunk)}/{len(ids)} summaries, {elapsed:.1f} s: {got}", flush=True)

    rows = []
    insights = {i.product_id: i for i in ProductInsight.objects.filter(product_id__in=ids).select_related("product")}
    for pid in ids:
        insight = insights[pid]
        facts = facts_from_insight(insight.product, insight)
        w = written.get(pid)
        part_texts = [(p.part, p.text) for p in w.parts] if w is not None else []
        row = {
            "product_id": pid, "title": insight.product.title, "summary": insight.summary,
            "model": insight.summary_model_id is not None, "seconds": round(seconds.get(pid, 0.0), 1),
            "parts": len(w.parts) if w else 0, "parts_fallback": w.fallback_parts if w else 0,
            "chosen_not_first": w.chosen_not_first if w else 0,
            **rubric(insight.summary, facts, part_texts),
            "candidates": [p.record() for p in w.parts] if w else [],
        }
        row["passed_checks"] = sum(row["checks"].values())
        rows.append(row)

    total_parts = sum(r["parts"] for r in rows)
    check_names = list(rows[0]["checks"]) if rows else []
    total = {
        "summaries": len(rows), "candidates_per_part": n, "model": generator.name,
        "load_seconds": round(load_seconds, 1),
        "seconds_per_summary": round(sum(seconds.values()) / len(rows), 1) if rows else None,
        "all_checks_passed": sum(all(r["checks"].values()) for r in rows),
        "passed_by_check": {name: sum(r["checks"][name] for r in rows) for name in check_names},
        "parts": total_parts, "parts_fallback": sum(r["parts_fallback"] for r in rows),
        "chosen_not_first": sum(r["chosen_not_first"] for r in rows),
        "chosen_not_first_rate": round(sum(r["chosen_not_first"] for r in rows) / total_parts, 3)
        if total_parts else None,
        "fallback_rate": round(sum(r["parts_fallback"] for r in rows) / total_parts, 3) if total_parts else None,
        "with_repetition": sum(bool(r["repetition"]) for r in rows),
        "mean_reading_grade": _mean([r["reading_grade"] for r in rows]),
        "counts": counts,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"prepare": steps, "total": total, "summaries": rows}, indent=2, default=str))
    for r in rows:
        print(f"- [{r['passed_checks']}/{len(r['checks'])} checks, {r['parts_fallback']} fallback, "
              f"grade {r['reading_grade']}] {r['summary']}", flush=True)
    print(json.dumps(total, indent=2, default=str))
    print(f"written to {args.output}")
    return 0


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 1) if known else None


if __name__ == "__main__":
    sys.exit(main())
