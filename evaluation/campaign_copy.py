"""Campaign copy with the real default generation model: `python -m evaluation.campaign_copy`.

Uses its own scratch database (`ecommarketing_copy_eval`, like the benchmarks' `ecommarketing_bench`), seeds a
small demo shop (`demo.seed.seed_shop`), runs the pipeline the copy needs (product embeddings, review
analysis, product insight, profiles, behavioural segments), then, for each channel (email, SMS, push by
default), generates for one demo campaign: the largest behavioural segments x their popular products, a few
variants each (24 variants by default: 12 emails, 6 SMS, 6 push). Reports, per channel and in all: variants
per minute, the first-try pass rate before and after repair, how often best-of-n chose a candidate other than
the first, and the rubric of `evaluation.copy_rubric` for every variant (each guardrail's failures,
repetition, framing leaks, unsupported claims, readability, distinctness, relevance). `--baseline FILE.jsonl`
scores copy from another run (records in the `check_copy` format, as this run writes them) by the same
rubric, side by side. Writes var/eval/campaign_copy.json, the records (.jsonl) and ten examples in full
(.md). CPU-heavy: run it under `flock /tmp/ecom-heavy.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "var" / "eval" / "campaign_copy.json"
DATABASE = "ecommarketing_copy_eval"
CAMPAIGN_NAME = "[Eval] Trail and road: copy generation"


def _setup(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    if not os.environ.get("DATABASE_URL"):
        from core import embedded

        os.environ["DATABASE_URL"] = embedded.ensure_postgres(database=database).url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def prepare_shop(args: argparse.Namespace) -> dict[str, Any]:
    """Seed the demo shop and compute what prompts are built from; each step skips what is done."""
    from catalog.insights.products import compute_product_insights
    from catalog.insights.reviews import analyze_reviews
    from catalog.product_embeddings import embed_products
    from customers.profiles import rebuild_profiles
    from customers.segments import rebuild_segments
    from demo.seed import SeedOptions, seed_shop

    steps: dict[str, Any] = {}
    started = time.perf_counter()
    report = seed_shop(SeedOptions(seed=42, products=args.products, customers=args.customers, events=args.events,
                                   reviews=args.reviews))
    steps["seed"] = report.counts or "already seeded"
    steps["embed_products"] = embed_products()
    steps["analyze_reviews"] = analyze_reviews()
    steps["product_insights"] = compute_product_insights()
    steps["profiles"] = {k: v for k, v in rebuild_profiles().items() if isinstance(v, int | float | str)}
    steps["segments"] = {k: v for k, v in rebuild_segments().items() if isinstance(v, int | float | str)}
    steps["seconds"] = round(time.perf_counter() - started, 1)
    return steps


def make_campaign(args: argparse.Namespace, channel: str) -> Any:
    from campaigns.models import Campaign
    from customers.models import Segment

    name = f"{CAMPAIGN_NAME} ({channel})"
    Campaign.objects.filter(name=name).delete()  # a fresh measurement every run
    campaign = Campaign.objects.create(
        name=name,
        goal=Campaign.Goal.CONVERSION,
        channel=channel,
        brief=BRIEF,
        brand_voice="Warm and plain-spoken, like a knowledgeable shop assistant. Short sentences, no hype.",
        tone="friendly",
        offer="10% off your next order with code HELLO10",
        banned_words=["cheap", "act now", "hurry"],
        required_text="You receive this because you subscribed. Unsubscribe: reply STOP or use the link below.",
        sign_off="Happy shopping,\nThe Northwind team",
        recommend_products=True,
        variants_per_group=args.variants,
        landing_url="https://shop.example/",
    )
    segments = Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL, is_active=True).order_by("-size", "pk")
    campaign.segments.set(list(segments[: args.segments]))
    return campaign


BRIEF = (
    "Show each audience the products its members look at most, with what reviewers praise about them, "
    "and answer the most common complaint honestly. Invite them to have a look. Free 30-day returns."
)


def records_of(campaign: Any, variants: Sequence[Any]) -> list[dict[str, Any]]:
    """Every variant as a check_copy record, with what generation allowed it to say as the brief's text."""
    from campaigns.generation.context import allowed_parts, product_insight, review_texts
    from campaigns.generation.planning import Group

    out = []
    for v in variants:
        group = Group(v.segment, v.product, v.customer)
        allowed = allowed_parts(campaign, group, product_insight(v.product))
        out.append(_record(campaign, v, allowed, review_texts(v.product)))
    return out


def _record(campaign: Any, v: Any, allowed: Sequence[str], reviews: Sequence[str]) -> dict[str, Any]:
    product = v.product
    parts = v.parts or {}
    return {
        "channel": campaign.channel, "subject": v.subject, "preheader": v.preheader, "body": v.body,
        "brief": {"goal": campaign.goal, "audience": v.segment.name if v.segment else "", "offer": campaign.offer,
                  "banned_words": campaign.banned_words, "required_text": campaign.required_text,
                  "voice": campaign.brand_voice, "language": campaign.language, "landing_url": campaign.landing_url,
                  "text": "\n".join(part for part in allowed if part), "greeting": campaign.greeting,
                  "sign_off": campaign.sign_off},
        "product": {"title": product.title, "description": product.description,
                    "price": str(product.price) if product.price is not None else None,
                    "currency": product.currency, "brand": product.brand, "attributes": product.attributes}
        if product else {},
        "reviews": list(reviews),
        "meta": {"label": v.label, "segment": v.segment.name if v.segment else None, "status": v.status,
                 "attempts": v.attempts, "relevance": v.relevance,
                 "chosen": {name: part.get("chosen") for name, part in parts.items() if isinstance(part, dict)}},
    }


def enrich_baseline(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of an earlier run that lack the brief's allowed text get it from this database (the same seeded
    shop: products by title, segments by name), so both runs are checked against the same facts."""
    from campaigns.generation.context import allowed_parts, product_insight
    from campaigns.generation.planning import Group
    from campaigns.models import Campaign
    from catalog.models import Product
    from customers.models import Segment

    for record in records:
        brief = record.setdefault("brief", {})
        if brief.get("text"):
            continue
        title = (record.get("product") or {}).get("title")
        product = Product.objects.filter(title=title).first() if title else None
        segment = Segment.objects.filter(name=(record.get("meta") or {}).get("segment") or "").first()
        campaign = Campaign(brief=brief.get("brief") or BRIEF, offer=brief.get("offer", ""),
                            required_text=brief.get("required_text", ""), landing_url=brief.get("landing_url", ""))
        brief["text"] = "\n".join(p for p in allowed_parts(campaign, Group(segment, product), product_insight(product))
                                   if p)
    return records


def _cell(text: str, limit: int) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(variants: Sequence[Any]) -> str:
    lines = [
        "| # | segment | product | subject | body (excerpt) | checks | tries | relevance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, v in enumerate(variants, start=1):
        failed = [row["check"] for row in v.guardrails if not row.get("passed")]
        checked = [row for row in v.guardrails if row.get("check") != "repair"]
        checks = f"all {len(checked)} passed" if not failed else "failed: " + ", ".join(failed)
        if len(checked) < len(v.guardrails):
            checks += " (repaired)"
        lines.append(
            f"| {n} | {_cell(v.segment.name if v.segment else 'everyone', 30)} | "
            f"{_cell(v.product.title if v.product else '-', 40)} | {_cell(v.subject, 70)} | {_cell(v.body, 160)} | "
            f"{checks} | {v.attempts} | {v.relevance if v.relevance is not None else '-'} |"
        )
    return "\n".join(lines)


PRODUCTS_PER_SEGMENT = {"email": 2, "sms": 1, "push": 1}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--segments", type=int, default=2, help="Largest behavioural segments targeted.")
    parser.add_argument("--variants", type=int, default=3, help="Variants per segment x product.")
    parser.add_argument("--products-per-segment", type=int, default=None,
                        help="Popular products per segment (default: 2 for email, 1 for SMS and push).")
    parser.add_argument("--channel", action="append", choices=["email", "sms", "push"],
                        help="Channel to generate for; repeat for several (default: email, sms and push).")
    parser.add_argument("--products", type=int, default=80)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--reviews", type=int, default=1500)
    parser.add_argument("--baseline", type=Path, action="append", default=[],
                        help="check_copy records of another run, scored side by side (repeatable); its summary "
                             "counts are read from the .json of the same name when there is one.")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--database", default=DATABASE, help="Scratch database (embedded server) to use.")
    parser.add_argument("--prepare-only", action="store_true", help="Seed and compute insight, generate nothing.")
    args = parser.parse_args(argv)
    _setup(args.database)
    from campaigns.generation import generate_variants, planning
    from campaigns.models import Variant
    from core.progress import TqdmProgress
    from inference import registry
    from inference.registry import candidates_per_part

    from .copy_rubric import score_records, summarise

    print("preparing the demo shop ...", flush=True)
    steps = prepare_shop(args)
    print(json.dumps(steps, default=str)[:600], flush=True)
    if args.prepare_only:
        return 0
    started = time.perf_counter()
    generator = registry.generator()
    load_seconds = time.perf_counter() - started
    print(f"generation model {generator.name} loaded in {load_seconds:.1f} s", flush=True)
    channels: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    all_variants: list[Any] = []
    for channel in args.channel or ["email", "sms", "push"]:
        campaign = make_campaign(args, channel)
        planning.RECOMMENDED_PER_SEGMENT = max(1, args.products_per_segment or PRODUCTS_PER_SEGMENT[channel])
        print(f"{channel}: campaign {campaign.pk}, segments {[s.name for s in campaign.segments.all()]}", flush=True)
        started = time.perf_counter()
        with TqdmProgress(unit="variant") as progress:
            counts = generate_variants(campaign, generator=generator, progress=progress)
        seconds = time.perf_counter() - started
        variants = list(Variant.objects.filter(campaign=campaign).select_related("segment", "product"))
        channels[channel] = {"generation_seconds": round(seconds, 1), "counts": counts, **rates(counts, seconds),
                             "final_pass_rate": _share(sum(v.status == "in_review" for v in variants), len(variants))}
        records += records_of(campaign, variants)
        all_variants += variants
    total = Counter[str]()
    for result in channels.values():
        total.update(result["counts"])
    seconds = sum(result["generation_seconds"] for result in channels.values())
    rows = score_records(records)
    result = {
        "model": generator.name, "candidates_per_part": candidates_per_part(generator),
        "load_seconds": round(load_seconds, 1), "generation_seconds": round(seconds, 1), "counts": dict(total),
        **rates(total, seconds),
        "final_pass_rate": _share(sum(v.status == "in_review" for v in all_variants), len(all_variants)),
        "failed_checks": _failed_checks(all_variants),
        "rubric": summarise(rows), "channels": channels, "prepare": steps,
    }
    baselines: dict[str, dict[str, Any]] = {}
    for path in args.baseline:
        baseline = enrich_baseline([json.loads(line) for line in path.read_text().splitlines() if line.strip()])
        summary_path = path.with_suffix(".json")
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        baselines[str(path)] = {"records": baseline, "summary": summary}
    if baselines:
        base_records = [r for b in baselines.values() for r in b["records"]]
        base_counts = Counter[str]()
        base_seconds = 0.0
        for b in baselines.values():
            base_counts.update(b["summary"].get("counts") or {})
            base_seconds += float(b["summary"].get("generation_seconds") or 0)
        result["baseline"] = {"files": list(baselines), "rubric": summarise(score_records(base_records)),
                              "counts": dict(base_counts), **rates(base_counts, base_seconds)}
    markdown = comparison(result) + "\n\n" + table(all_variants[:10])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({**result, "table": markdown}, indent=2, default=str))
    with args.output.with_suffix(".jsonl").open("w") as out:
        for record, row in zip(records, rows, strict=True):
            out.write(json.dumps({**record, "rubric": row}, default=str) + "\n")
    args.output.with_suffix(".md").write_text(examples(records, rows))
    print(json.dumps({k: v for k, v in result.items() if k not in ("prepare", "channels")}, indent=2, default=str))
    print(markdown)
    return 0


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def rates(counts: Mapping[str, int], seconds: float) -> dict[str, Any]:
    generated = counts.get("generated", 0)
    return {
        "variants_per_minute": round(generated / (seconds / 60), 2) if seconds else None,
        "first_try_pass_rate_before_repair": _share(counts.get("passed_first_try_unrepaired", 0), generated),
        "first_try_pass_rate": _share(counts.get("passed_first_try", 0), generated),
        "chosen_not_first_rate": _share(counts.get("chosen_not_first", 0), counts.get("parts", 0)),
    }


def comparison(result: dict[str, Any]) -> str:
    """Before (baseline) and after, one rubric line each."""
    runs = [("baseline", result.get("baseline")), ("this run", result)]
    lines = ["| measure | " + " | ".join(name for name, run in runs if run) + " |",
             "|---|" + "---|" * sum(1 for _, run in runs if run)]
    measures = [
        ("variants", lambda r: r["rubric"]["variants"]),
        ("variants per minute", lambda r: r.get("variants_per_minute")),
        ("first-try pass rate before repair (its own checks)", lambda r: r.get("first_try_pass_rate_before_repair")),
        ("first-try pass rate after repair (its own checks)", lambda r: r.get("first_try_pass_rate")),
        ("pass rate of the stored copy, all checks of this run", lambda r: r["rubric"]["pass_rate"]),
        ("repetition rate", lambda r: r["rubric"]["repetition_rate"]),
        ("framing leaks (framing, group salutation, goal in subject)", lambda r: r["rubric"]["framing_leaks"]),
        ("unsupported or vague claims", lambda r: r["rubric"]["unsupported_claims"]),
        ("reading grade, median (over the limit)",
         lambda r: f"{r['rubric']['reading_grade_median']} ({r['rubric']['over_reading_limit']})"),
        ("distinctness within a group, mean", lambda r: r["rubric"]["distinctness_mean"]),
        ("relevance, mean", lambda r: r["rubric"]["relevance_mean"]),
        ("best-of-n chose a later candidate (share of parts)", lambda r: r.get("chosen_not_first_rate")),
        ("failures per check", lambda r: ", ".join(f"{k} {v}" for k, v in r["rubric"]["failures"].items()) or "-"),
    ]
    for label, value in measures:
        lines.append(f"| {label} | " + " | ".join(str(value(run)) for _, run in runs if run) + " |")
    return "\n".join(lines)


def examples(records: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], count: int = 10) -> str:
    """Ten variants in full (spread over the channels), with their verdicts."""
    picked = [i for i in range(len(records)) if i % max(1, len(records) // count) == 0][:count]
    out = ["# Ten generated variants in full\n"]
    for n, i in enumerate(picked, start=1):
        record, row = records[i], rows[i]
        meta = record.get("meta") or {}
        verdict = "passes every check" if row["passed"] else "fails: " + "; ".join(row["reasons"])
        out.append(f"## {n}. {record['channel']}, {meta.get('segment')}, {(record.get('product') or {}).get('title')}"
                   f" (variant {meta.get('label')}, {meta.get('status')})\n")
        if record.get("subject"):
            out.append(f"**Subject:** {record['subject']}  ")
        if record.get("preheader"):
            out.append(f"**Preheader:** {record['preheader']}  ")
        out.append("\n```\n" + record["body"] + "\n```\n")
        out.append(f"Verdict: {verdict}. Reading grade {row['grade']}, distinctness {row['distinctness']}, "
                   f"relevance {row['relevance']}.\n")
    return "\n".join(out)


def _failed_checks(variants: Sequence[Any]) -> dict[str, int]:
    """How often each check failed on the stored (last) attempt."""
    out: dict[str, int] = {}
    for variant in variants:
        for row in variant.guardrails:
            if not row.get("passed"):
                out[row["check"]] = out.get(row["check"], 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
