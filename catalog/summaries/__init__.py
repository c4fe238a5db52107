"""A short grounded summary per product, written by the generation role from the extracted insight only,
part by part, best of n: a praise sentence, then (when the insight has pain points or needs) a complaint
sentence. A 0.5B model asked for a whole summary mixed complaints into praise ("The complaint about switching
Bluetooth between devices works seamlessly"); a part that never sees the other part's facts cannot.

Why each piece is there:
- `prompt`: one prompt per part, built from `ProductInsight` (counts, aspects, needs) and a few short quotes,
  never from whole reviews, each with only its part's facts (`part_facts`: praise gets the praised aspects,
  rating and praise quotes; complaints the pain points, needs and their quotes), so the model can only
  restate what the extraction found. Quotes are customer text: they sit inside a <quotes> block that the
  system prompt declares to be data, with the fence characters stripped from them, so a review saying
  "ignore previous instructions" cannot change the task.
- `summarizing`: generation is slow on CPU (a few tokens per second): a chunk's prompts of one part go in one
  `Generator.sample` call (n candidates each, cut at a newline, a fixed seed), the candidates are cached by a
  hash of model + part prompt + parameters in `GeneratedText`, and a product whose summary input (its parts'
  hashes) did not change is skipped, so re-running costs nothing. The `summarize_products` job
  (catalog/tasks.py) calls it.
- `choosing`: each candidate is cleaned to one sentence and checked (`grounding` against its part's facts,
  plus `inference.text_checks`: repetition within and across parts, stray characters, unbalanced quotes and
  brackets, reading grade); the most fluent passing one is kept, else the template's sentence for that part.
- `grounding`: a 0.5B model sometimes invents. Sentences that use a number absent from the facts, talk about
  prices or offers, name a product aspect the facts never mention (a fixed list of aspect nouns), praise an
  aspect that reviewers only complained about, speak as "I" or copy a quote fail, and so does a praise
  sentence with a complaint in it: simple, explainable rules, not a proof of faithfulness.
- `template`: a deterministic sentence per part built from the insight, for a part none of whose candidates
  passed; when every part falls back, or no generator is available, the template summary is stored and
  `summary_model` says which: the model version, or None for the template.
"""
