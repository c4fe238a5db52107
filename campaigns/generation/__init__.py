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
- Parts (`parts`): the model writes each part of a message from its own short prompt (`campaigns.prompts`),
  one line each (email: subject, preheader, paragraph, button text; SMS: line; push: title, line); the
  campaign's template adds the greeting, the offer verbatim, the link, the sign-off and the required text.
- Best of n (`writing`, `choosing`): every part's prompts go to the model in one `sample` call, n candidates
  each (GENERATION_CANDIDATES); each candidate is checked by the pure `campaigns.guardrails` on the message
  it would make, against what `context` reads from the database (allowed text, reviews, customer names),
  and scored by relevance, the model's fluency and distinctness from the group's other variants. A part with
  no passing candidate is sampled again with the failed checks in its prompt (MAX_RETRIES), then repaired
  (`repair`: its offending sentences dropped, recorded as a `repair` row) or replaced by the template's
  fallback (button text, no preheader). The whole message is checked once more and stored in review
  (passed) or flagged (with its results), with its prompts, every part's candidates (`Variant.parts`),
  model version and name, attempts and a relevance score (`relevance`). `check_variant` re-checks a stored
  variant the same way after a person edits it. Approved variants teach the voice (`examples`).
- Idempotent: a (segment, product, customer, label) that already has a variant is skipped, so a re-run
  (or a retried job) only fills what is missing; `force` first deletes the variants not yet approved
  (and not used by an experiment arm or a message) and writes them again. Each group commits on its own.
"""

from .context import check_variant
from .writing import GenerationRefused, check_can_generate, generate_variants

__all__ = ["GenerationRefused", "check_can_generate", "check_variant", "generate_variants"]
