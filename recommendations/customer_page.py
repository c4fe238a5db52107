"""A customer's precomputed recommendations as the customer page shows them: each product with its price, the
reason sentence and the source it came from, and whether the set is still fresh.

Read from `RecommendationSet` (what a campaign would send), never ranked live on a page view: the ranker loads
the version's serving tables into the web process. Three queries whatever the number of items: the set with
its version, the serving version, the products' current prices.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from catalog.model_versions import active_version
from catalog.models import ModelRole, Product
from customers.models import Customer

from .models import RecommendationSet

FRESH_FOR = timedelta(days=7)  # older sets are flagged: the catalogue and the customer's history have moved on
SOURCE_LABELS = {
    "content": "content (profile and interests)",
    "als": "collaborative filtering (ALS)",
    "item_item": "item-item similarity",
    "co_purchase": "bought together",
    "recent": "recent views",
    "popularity": "popularity",
    "trending": "trending",
}


def source_of(item: dict[str, Any]) -> str:
    """The source the reason comes from: stored since `reason_source` was added; for older rows, the source
    where the product ranked best."""
    if "reason_source" in item:
        return str(item["reason_source"])
    sources: dict[str, int] = item.get("sources") or {}
    return min(sources, key=lambda s: sources[s]) if sources else ""


def recommendations_context(customer: Customer) -> dict[str, Any]:
    """The rows and the freshness note of the customer's precomputed recommendations (see the module doc)."""
    body = f'{{"kind": "precompute_recommendations", "params": {{"customer_ids": [{customer.pk}]}}}}'
    how = ("run the <code>precompute_recommendations</code> job (Jobs page, or <code>POST /api/v1/jobs/</code> "
           f"with <code>{body}</code>)")
    live_url = reverse("customer-recommendations-list", kwargs={"customer_pk": customer.pk})
    stored = RecommendationSet.objects.filter(customer=customer).select_related("model_version").first()
    if stored is None:
        return {"rows": [], "how": how, "live_url": live_url, "stored": None}
    serving = active_version(ModelRole.RECOMMENDER)
    products = Product.objects.in_bulk([item["product"] for item in stored.items])
    rows = []
    for rank, item in enumerate(stored.items, start=1):
        product = products.get(item["product"])
        source = source_of(item)
        rows.append({
            "rank": rank,
            "title": product.title if product else item.get("title", ""),
            "sku": item.get("sku", ""),
            "url": reverse("admin:catalog_product_change", args=[product.pk]) if product else "",
            "price": (f"{product.price:,.2f} {product.currency}" if product and product.price is not None else "-"),
            "offered": "" if product is None else (
                "inactive" if not product.is_active else "out of stock" if not product.in_stock else ""),
            "reason": item.get("reason", ""),
            "source": SOURCE_LABELS.get(source, source) or "fallback",
            "score": item.get("score", 0.0),
        })
    stale = []
    if serving is None or stored.model_version_id != serving.pk:
        made_by = stored.model_version.name if stored.model_version else "no recommender version (popularity)"
        stale.append(f"made by {made_by}; the serving version is {serving.name if serving else 'none'}")
    age = timezone.now() - stored.computed_at
    if age > FRESH_FOR:
        stale.append(f"computed {age.days} days ago (fresh for {FRESH_FOR.days} days)")
    return {"rows": rows, "how": how, "live_url": live_url, "stored": stored, "stale": stale,
            "currency": settings.DEFAULT_CURRENCY}


def recommendations_section(customer: Customer) -> SafeString | str:
    if customer.pk is None:
        return "-"
    return render_to_string("admin/recommendations/customer_recommendations.html", recommendations_context(customer))
