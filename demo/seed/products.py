"""Planning the demo catalogue: products across the categories of `catalog_data`, each with a latent
quality and per-aspect strengths, so reviews of different products praise and blame different things
(pain points differ); a few are discontinued or out of stock, so filters have something to do."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from typing import Any

from .. import catalog_data
from ..catalog_data import Category, ProductType
from .options import SKU_PREFIX
from .plan import HISTORY_DAYS, PlannedProduct, PlanState, apportion, clip


def plan_products(shop: PlanState) -> None:
    categories = catalog_data.CATEGORIES
    counts = apportion(shop.options.products, [c.weight for c in categories], minimum=1)
    phones: list[str] = []
    titles: set[str] = set()
    for ci, (category, count) in enumerate(zip(categories, counts, strict=True)):
        type_counts = apportion(count, [t.weight for t in category.types], minimum=1)
        for ptype, n in zip(category.types, type_counts, strict=True):
            for _ in range(n):
                product = _product(shop, ci, category, ptype, phones, titles)
                shop.products.append(product)
                shop.by_category.setdefault(ci, []).append(product.index)
                shop.by_type.setdefault(ptype.key, []).append(product.index)
                if ptype.key == "smartphone":
                    phones.append(f"{product.brand} {product.attributes['model']}")
    _retire_some_products(shop)


def _product(
    shop: PlanState, ci: int, category: Category, ptype: ProductType, phones: list[str], titles: set[str]
) -> PlannedProduct:
    rng = shop.rng
    index = len(shop.products)
    brand = rng.choice(category.brands)
    specs = {key: rng.choice(values) for key, values in ptype.specs.items()}
    attrs = {key: rng.choice(values) for key, values in ptype.attributes.items()}
    fits = rng.choice(phones or list(catalog_data.FALLBACK_PHONES)) if "{phone}" in ptype.title else None
    model = rng.choice(ptype.models)
    context: dict[str, Any] = {**specs, **attrs, "brand": brand.name, "model": model, "phone": fits or ""}
    title = ptype.title.format_map(context)
    for attempt in range(40):  # a different model name until the title is new
        if title not in titles:
            break
        model = rng.choice(ptype.models)
        if attempt >= 20:
            model = f"{model} {('II', 'III', 'SE', 'Plus', 'Edition 2', 'Edition 3')[attempt % 6]}"
        context["model"] = model
        title = ptype.title.format_map(context)
    if title in titles:
        title = f"{title} ({index + 1})"
    titles.add(title)

    intro = rng.choice(ptype.intros)
    k = min(len(ptype.features), rng.choice((1, 2, 2, 3)))
    picked = sorted(rng.sample(range(len(ptype.features)), k))
    description = " ".join([intro] + [ptype.features[i] for i in picked]).format_map(context)

    low, high = ptype.price
    base = low + (high - low) * rng.random() ** 1.4
    raw = clip(base * brand.tier, low * 0.85, high * 1.15)
    cents = rng.choice((".99", ".99", ".99", ".95", ".00", ".49"))
    price = Decimal(f"{max(1, int(raw))}{cents}")

    quality = clip(rng.gauss(0.64 + (brand.tier - 1) * 0.25, 0.15), 0.2, 0.95)
    strengths = _strengths(shop, ptype, quality, brand.tier)
    popularity = math.exp(rng.gauss(0, 0.9)) * (0.6 + quality * 0.6)
    if rng.random() < 0.82:
        created = shop.start - timedelta(days=rng.uniform(20, 700))
    else:  # a new arrival during the history window
        created = shop.start + timedelta(days=rng.uniform(0, HISTORY_DAYS - 30))
    created = created.replace(microsecond=0)

    attributes: dict[str, Any] = {**attrs, **specs, **ptype.fixed_attributes, "model": model}
    if fits:
        attributes["compatible_with"] = fits
    return PlannedProduct(
        index=index,
        sku=f"{SKU_PREFIX}{index + 1:05d}",
        category=category,
        category_index=ci,
        ptype=ptype,
        brand=brand.name,
        title=title,
        description=description,
        price=price,
        attributes=attributes,
        created_at=created,
        quality=quality,
        strengths=strengths,
        popularity=popularity,
        fits=fits,
    )


def _strengths(shop: PlanState, ptype: ProductType, quality: float, tier: float) -> dict[str, float]:
    """Per-aspect strength in -1..1: one or two clear weaknesses (the product's pain points), one or
    two clear strengths, and the rest spread around the product's overall quality."""
    rng = shop.rng
    centre = (quality - 0.6) * 1.6
    strengths = {name: clip(rng.gauss(centre, 0.3), -0.6, 0.6) for name in ptype.aspects}
    names = list(ptype.aspects)
    n_weak = 2 if quality < 0.5 else 1
    weak = rng.sample(names, min(n_weak, len(names) - 1))
    rest = [name for name in names if name not in weak]
    strong = rng.sample(rest, min(2 if quality > 0.7 else 1, len(rest)))
    for name in weak:
        strengths[name] = rng.uniform(-1.0, -0.7)
    for name in strong:
        strengths[name] = rng.uniform(0.7, 1.0)
    strengths["delivery"] = clip(rng.gauss(0.35, 0.35), -1, 1)
    strengths["packaging"] = clip(rng.gauss(0.2, 0.35), -1, 1)
    strengths["value for money"] = clip((quality - 0.6) * 2.2 - (tier - 1.0) * 0.8 + rng.gauss(0, 0.2), -1, 1)
    return strengths


def _retire_some_products(shop: PlanState) -> None:
    """About 5% are discontinued (inactive) and 7% are out of stock: filters have something to do."""
    rng = shop.rng
    for product in shop.products:
        roll = rng.random()
        if roll < 0.05:
            since = shop.anchor - timedelta(days=rng.uniform(30, 150))
            if since > product.created_at + timedelta(days=30):
                product.inactive_since = since.replace(microsecond=0)
        elif roll < 0.12:
            product.out_of_stock_since = (shop.anchor - timedelta(days=rng.uniform(3, 30))).replace(microsecond=0)
