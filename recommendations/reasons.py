"""Why a product is recommended, told as one sentence from the source that contributed most to its score:
"Because you viewed Mug 1", "Bought together with Tea 2", "Similar to what you searched: red teapot",
"Matches your interest in Home > Kitchen", "Popular in Kitchen lovers", "Trending now"...

A sentence names a product of the customer's history only when the recommended product is linked to it
(co-purchase or item-item similarity of at least MIN_LINK): a pillow under a "Home" filter is never "because
you bought" a smartphone; it falls back to the next source, and last to a neutral "Picked for you in Home".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .candidates import Candidates, ProductRow
from .serving import ServingTables

MIN_LINK = 0.2  # co-purchase / item-item cosine below which a history product is not named as the reason


def explain(
    cand: Candidates, pid: int, ordered_sources: Sequence[str], rows: dict[int, ProductRow],
    tables: ServingTables | None, category: str | None = None,
) -> tuple[str, str]:
    """(source, sentence) for `pid`, trying its sources from the largest contribution down."""
    context = cand.context
    for source in ordered_sources:
        if source in ("item_item", "co_purchase", "als"):
            seed = seed_for(cand, pid, "co_purchase" if source == "co_purchase" else "item_item", tables)
            if seed is not None and seed in rows:
                title = rows[seed].title
                if source == "co_purchase":
                    return source, f"Bought together with {title}"
                return source, f"Because you {cand.seed_verbs.get(seed, 'viewed')} {title}"
            if source == "als":
                return source, "Customers with similar taste liked this"
            continue
        if source == "content":
            if cand.search_vectors is not None and rows[pid].vector is not None:
                similarity = cand.search_vectors @ np.asarray(rows[pid].vector, dtype=np.float32)
                return source, f"Similar to what you searched: {context.searches[int(np.argmax(similarity))]}"
            category = rows[pid].category
            interest = next((c for c in context.interests if category.lower().startswith(c.lower())), None)
            levels = [part.strip() for part in category.split(">") if part.strip()]
            if interest is None and context.interests:  # an MMR pick outside their known interests
                return source, "Something different you may like"
            label = interest or (levels[-1] if levels else "")
            return source, f"Matches your interest in {label}" if label else "Matches your interests"
        if source == "recent":
            return source, "You viewed this recently"
        if source == "popularity":
            if context.segment_name and tables is not None and str(context.segment_id) in tables.popular:
                return source, f"Popular in {context.segment_name}"
            return source, "Popular in the shop"
        if source == "trending":
            return source, "Trending now"
    if category:
        return "", f"Picked for you in {category}"
    return "", "Recommended for you"


def seed_for(cand: Candidates, pid: int, table: str, tables: ServingTables | None) -> int | None:
    """The history product most responsible for `pid` in the item-item or co-purchase table, if any is linked
    to it by at least MIN_LINK."""
    if tables is None or pid not in tables.item_index:
        return None
    best, best_score = None, 0.0
    for seed, weight, similarity in seed_links(cand, table, tables).get(tables.item_index[pid], ()):
        if similarity * weight > best_score:
            best, best_score = seed, similarity * weight
    return best


def seed_links(cand: Candidates, table: str, tables: ServingTables) -> dict[int, list[tuple[int, float, float]]]:
    """Item index -> [(seed product, seed weight, similarity)] of every link of at least MIN_LINK from the
    customer's seeds, in seed order; read once per customer from the seeds' rows of the table (a scipy lookup
    per seed and item cost more than the rest of the ranking)."""
    links = cand.seed_links.get(table)
    if links is None:
        matrix = tables.co_purchase if table == "co_purchase" else tables.item_item
        links = {}
        for seed, weight in cand.seeds.items():
            index = tables.item_index.get(seed)
            if index is None:
                continue
            start, end = int(matrix.indptr[index]), int(matrix.indptr[index + 1])
            for target, similarity in zip(
                matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True
            ):
                if similarity >= MIN_LINK:
                    links.setdefault(target, []).append((seed, weight, similarity))
        cand.seed_links[table] = links
    return links
