"""Copy variants for a campaign: segment x product groups, several variants each, under guardrails.

`generate_variants(campaign)` is the entry point (the `generate_campaign` job in tasks.py calls it);
`check_can_generate(campaign)` raises `GenerationRefused`, with the reason, for a campaign that cannot be
generated now. The modules, by seam:
- Groups (`planning`): each of the campaign's segments (or one "everyone" group) x each chosen product (at
  most MAX_PRODUCTS), or, with `recommend_products` and none chosen, the segment's RECOMMENDED_PER_SEGMENT
  most popular products (purchases, carts and views of its members in the last POPULAR_DAYS days), or one
  product-less group. At most MAX_GROUPS groups: on CPU every variant costs tens of seconds.
- Variants (`planning`): `variants_per_group` per group (at most len(ANGLES)), each with its own angle and
  seed, labelled A, B, C...; with `personalise_per_customer`, one more per customer for the first
  PER_CUSTOMER_CAP customers of the audience (`campaigns.audience`), with their top recommendation as the
  product.
- Each output is parsed and checked by the pure `campaigns.guardrails`, against what `context` reads from the
  database (allowed text, reviews, customer names); `check_variant` re-checks a stored variant the same way
  after a person edits it. One that fails is first repaired (`repair`: sentences that on their own break a
  sentence-level check are dropped, if enough is left) and re-checked, the repair recorded as an extra
  `repair` row of its results. A failed one is regenerated with the failed checks added to the prompt, at
  most MAX_RETRIES times (`writing`); then stored as in review (passed) or flagged (with the results), with
  its prompt, model version and name, attempts and a relevance score (`relevance`: cosine between the copy's
  embedding and the product and segment text). First attempts of a group go to the model in one batch, then
  the retries in another, so a local model batches and a server runs them concurrently.
- Idempotent: a (segment, product, customer, label) that already has a variant is skipped, so a re-run
  (or a retried job) only fills what is missing; `force` first deletes the variants not yet approved
  (and not used by an experiment arm or a message) and writes them again. Each group commits on its own.
"""

from .context import check_variant
from .writing import GenerationRefused, check_can_generate, generate_variants

__all__ = ["GenerationRefused", "check_can_generate", "check_variant", "generate_variants"]
