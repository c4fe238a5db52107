"""Seed a believable, reproducible demo shop so that every pipeline step has something to show.

`seed_shop(options, progress)` is the one entry point; `manage.py seed_demo` and the `seed_demo` job
both call it. It first plans the whole shop in memory from `random.Random(seed)` and a fixed anchor date
(same seed + same anchor = same rows, byte for byte), then writes it with `bulk_create` in a single
transaction, so a failure leaves nothing half-written.

Demo rows are recognisable by their keys (SKU `DEMO-00001`, customer `demo-c-00001`, review `demo-r-...`,
event `demo-e-...`, campaign names starting with `[Demo]`). A second run skips when demo data exists;
`force` upserts every demo row by its key and deletes demo rows the new plan no longer has. Rows that
are not demo rows are never written or deleted, although deleting a stale demo product or customer
applies the models' usual on-delete rules to whatever points at it.

What the plan contains, and why:
- products across the categories of `catalog_data`, each with a latent quality and per-aspect
  strengths, so reviews of different products praise and blame different things (pain points differ);
- customers with lifecycles (new, loyal, regular, lapsed, browser, dormant), 1-3 preferred categories
  and a few preferred brands, so profiles, segments and recommendations have structure to find;
- browsing sessions (search -> views -> add to cart -> purchase) that follow those preferences, with
  orders of several lines, co-purchases (phone + case, espresso machine + beans), repeat purchases of
  consumables, abandoned carts, email opens, clicks and a few unsubscribes;
- reviews mostly by customers who bought the product, written after the purchase, about 5% in Chinese.
- for the customer-service assistant: one to three questions per product answered from its attributes
  (about 5% in Chinese), help articles on delivery, returns, warranty, sizing and payment, and the demo
  storefront's publishable key (`knowledge`, data in `demo.assistant_data`).

The modules: `options` (sizes, demo keys, the report), `plan` (the planned rows and the state the
planners share), one planner per entity (`products`, `customers`, `events`, `reviews`, with
`review_text` writing a review's words; `knowledge` for the assistant's), `writing` (the bulk writes)
and `shop` (the entry points).
"""

from __future__ import annotations

from .options import SeedOptions, SeedReport
from .plan import ShopPlan
from .shop import plan_shop, seed_shop

__all__ = ["SeedOptions", "SeedReport", "ShopPlan", "plan_shop", "seed_shop"]
