"""A short grounded summary per product, written by the generation role from the extracted insight only.

Why each piece is there:
- `prompt`: the prompt is built from `ProductInsight` (counts, aspects, topics, needs) and a few short
  quotes, never from whole reviews, so the model can only restate what the extraction found. Quotes are
  customer text: they sit inside a <quotes> block that the system prompt declares to be data, with the
  fence characters stripped from them, so a review saying "ignore previous instructions" cannot change
  the task.
- `summarizing`: generation is slow on CPU (a few tokens per second): prompts are sent several at a time,
  outputs are cached by a hash of model + prompt + parameters in `GeneratedText`, and a product whose
  summary input did not change is skipped, so re-running costs nothing. The `summarize_products` job
  (catalog/tasks.py) calls it.
- `grounding`: a 0.5B model sometimes invents. `ground()` drops sentences that use a number absent from
  the facts, talk about prices or offers, name a product aspect the insight never mentions (a fixed list of
  aspect nouns), praise an aspect that reviewers only complained about, or speak as "I" (a copied quote):
  simple, explainable rules, not a proof of faithfulness.
- `template`: when nothing survives, or no generator is available, a deterministic template built from the
  insight is stored instead, and `summary_model` says which: the model version, or None for the template.
"""
