"""Campaign copy with the real default generation model: `python -m evaluation.campaign_copy`.

Uses its own scratch database (`ecommarketing_copy_eval`, like the benchmarks' `ecommarketing_bench`), seeds a
small demo shop (`demo.seed.seed_shop`), runs the pipeline the copy needs (product embeddings, review
analysis, product insight, profiles, behavioural segments), then generates for one demo campaign: the
largest behavioural segments x their popular products, a few variants each. Reports variants per minute,
the guardrail pass rate on the first try (before and after the deterministic repair), and a markdown table
of ten example variants; writes
var/eval/campaign_copy.json. CPU-heavy: run it under `flock /tmp/ecom-heavy.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
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


def make_campaign(args: argparse.Namespace) -> Any:
    from campaigns.models import Campaign
    from customers.models import Segment

    Campaign.objects.filter(name=CAMPAIGN_NAME).delete()  # a fresh measurement every run
    campaign = Campaign.objects.create(
        name=CAMPAIGN_NAME,
        goal=Campaign.Goal.CONVERSION,
        channel=args.channel,
        brief=(
            "Show each audience the products its members look at most, with what reviewers praise about them, "
            "and answer the most common complaint honestly. Invite them to have a look. Free 30-day returns."
        ),
        brand_voice="Warm and plain-spoken, like a knowledgeable shop assistant. Short sentences, no hype.",
        tone="friendly",
        offer="10% off your next order with code HELLO10",
        banned_words=["cheap", "act now", "hurry"],
        required_text="You receive this because you subscribed. Unsubscribe: reply STOP or use the link below.",
        recommend_products=True,
        variants_per_group=args.variants,
        landing_url="https://shop.example/",
    )
    segments = Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL, is_active=True).order_by("-size", "pk")
    campaign.segments.set(list(segments[: args.segments]))
    return campaign


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--segments", type=int, default=2, help="Largest behavioural segments targeted.")
    parser.add_argument("--variants", type=int, default=3, help="Variants per segment x product.")
    parser.add_argument("--products-per-segment", type=int, default=None,
                        help="Popular products per segment (default: generation.planning.RECOMMENDED_PER_SEGMENT).")
    parser.add_argument("--channel", default="email", choices=["email", "sms", "push"])
    parser.add_argument("--products", type=int, default=80)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--reviews", type=int, default=1500)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--database", default=DATABASE, help="Scratch database (embedded server) to use.")
    parser.add_argument("--prepare-only", action="store_true", help="Seed and compute insight, generate nothing.")
    args = parser.parse_args(argv)
    _setup(args.database)
    from campaigns.generation import generate_variants, planning
    from campaigns.models import Variant
    from core.progress import TqdmProgress
    from inference import registry

    print("preparing the demo shop ...", flush=True)
    steps = prepare_shop(args)
    print(json.dumps(steps, default=str)[:600], flush=True)
    campaign = make_campaign(args)
    print(f"campaign {campaign.pk}: segments {[s.name for s in campaign.segments.all()]}", flush=True)
    if args.prepare_only:
        return 0
    if args.products_per_segment is not None:
        planning.RECOMMENDED_PER_SEGMENT = max(1, args.products_per_segment)
    started = time.perf_counter()
    generator = registry.generator()
    load_seconds = time.perf_counter() - started
    print(f"generation model {generator.name} loaded in {load_seconds:.1f} s; generating ...", flush=True)
    started = time.perf_counter()
    with TqdmProgress(unit="variant") as progress:
        counts = generate_variants(campaign, generator=generator, progress=progress)
    seconds = time.perf_counter() - started
    variants = list(Variant.objects.filter(campaign=campaign).select_related("segment", "product"))
    generated = counts.get("generated", 0)
    result = {
        "model": generator.name,
        "channel": args.channel,
        "load_seconds": round(load_seconds, 1),
        "generation_seconds": round(seconds, 1),
        "counts": counts,
        "variants_per_minute": round(generated / (seconds / 60), 2) if seconds else None,
        "generations_per_minute": round(counts.get("attempts", 0) / (seconds / 60), 2) if seconds else None,
        "first_try_pass_rate_before_repair": round(counts.get("passed_first_try_unrepaired", 0) / generated, 3)
        if generated else None,
        "first_try_pass_rate": round(counts.get("passed_first_try", 0) / generated, 3) if generated else None,
        "repaired_and_passed": counts.get("passed_with_repair", 0),
        "final_pass_rate": round(sum(v.status == Variant.Status.IN_REVIEW for v in variants) / generated, 3)
        if generated else None,
        "failed_checks": _failed_checks(variants),
        "mean_relevance": round(sum(v.relevance or 0 for v in variants) / len(variants), 3) if variants else None,
        "prepare": steps,
    }
    markdown = table(variants[:10])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({**result, "table": markdown}, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "prepare"}, indent=2, default=str))
    print(markdown)
    return 0


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
