"""What a manager reads on the insight pages: `python -m evaluation.insight_pages`.

Prints, for the current database (DATABASE_URL, else the embedded one), each chosen product's praised
aspects and pain points (count on that side of all mentions, one quote) and needs (with the aspect a need is
about, when known). Products: the N most reviewed (`--products`, 5 by default), or the given ids or SKUs
(`--product`, repeatable). A before/after is two runs: save the first with `--format json --output
before.json`, change the code and re-run the analysis, then `--baseline before.json` prints each product's
lines before and after. Reads only; run `analyze_reviews` and `product_insights` first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

QUOTE_CHARS = 90  # a quote is cut to this many characters in the table


def _chosen_products(count: int, wanted: Sequence[str]) -> list[Any]:
    from catalog.models import ProductInsight

    insights = ProductInsight.objects.select_related("product")
    if not wanted:
        return list(insights.order_by("-review_count", "product_id")[:count])
    chosen = []
    for value in wanted:
        found = insights.filter(product__sku=value).first()
        if found is None and value.isdigit():
            found = insights.filter(product_id=int(value)).first()
        if found is None:
            raise SystemExit(f"insight_pages: no product insight for id or SKU {value!r}")
        chosen.append(found)
    return chosen


def _side(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "aspect": entry.get("aspect", ""),
            "count": entry.get("count", 0),
            "mentions": entry.get("mentions", 0),
            "quote": (entry.get("quotes") or [{}])[0].get("text", ""),
        }
        for entry in entries
    ]


def page(insight: Any) -> dict[str, Any]:
    """One product's insight page, reduced to what this report shows."""
    return {
        "sku": insight.product.sku,
        "title": insight.product.title,
        "category": insight.product.category,
        "reviews": insight.review_count,
        "rating_average": insight.rating_average,
        "praised": _side(insight.praised_aspects),
        "pain_points": _side(insight.pain_points),
        "needs": [
            {
                "need": need.get("need", ""),
                "aspect": need.get("aspect", ""),
                "count": need.get("count", 0),
                "quote": (need.get("quotes") or [{}])[0].get("text", ""),
            }
            for need in insight.needs
        ],
    }


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _lines(product: dict[str, Any] | None) -> list[str]:
    if product is None:
        return ["  (not in this run)"]
    lines = []
    for label, key in (("praised", "praised"), ("pain", "pain_points")):
        if not product[key]:
            lines.append(f"  {label:<7} -")
        for entry in product[key]:
            counts = f"{entry['count']}/{entry['mentions']}"
            lines.append(f"  {label:<7} {entry['aspect']} ({counts}): \"{_cut(entry['quote'])}\"")
    if not product["needs"]:
        lines.append("  need    -")
    for need in product["needs"]:
        about = f" [{need['aspect']}]" if need.get("aspect") else ""
        lines.append(f"  need    {need['need']}{about} ({need['count']}): \"{_cut(need['quote'])}\"")
    return lines


def table(pages: Sequence[dict[str, Any]], baseline: Sequence[dict[str, Any]] | None = None) -> str:
    """Each product's praised aspects, pain points and needs; with a baseline, its lines first."""
    before = {product["sku"]: product for product in baseline or []}
    out: list[str] = []
    for product in pages:
        out.append(
            f"{product['sku']}  {product['title']}  ({product['category']}; {product['reviews']} reviews, "
            f"mean {product['rating_average']})"
        )
        if baseline is not None:
            out.append(" before:")
            out += _lines(before.get(product["sku"]))
            out.append(" after:")
        out += _lines(product)
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--products", type=int, default=5, help="the N most reviewed products (default 5)")
    parser.add_argument("--product", action="append", default=[], help="a product id or SKU (repeatable)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--baseline", type=Path, help="an earlier --format json output, shown as 'before'")
    parser.add_argument("--output", type=Path, help="write here instead of printing")
    args = parser.parse_args(argv)
    baseline = None
    if args.baseline is not None:
        try:
            baseline = json.loads(args.baseline.read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"insight_pages: cannot read baseline {args.baseline}: {exc}") from exc
        if not isinstance(baseline, list):
            raise SystemExit(f"insight_pages: baseline {args.baseline} is not a list of products")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()
    wanted = args.product or ([p["sku"] for p in baseline] if baseline else [])
    pages = [page(insight) for insight in _chosen_products(args.products, wanted)]
    text = json.dumps(pages, indent=2, ensure_ascii=False) if args.format == "json" else table(pages, baseline)
    if args.output is not None:
        args.output.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
