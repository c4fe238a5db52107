"""A short grounded summary per product, written by the generation role from the extracted insight only,
one short sentence per aspect: the opening (review count and rating, the template's), then a sentence per top
praised aspect, per top pain point and for the top need, each with its count from the insight ("(12 of 40
reviews)"). A 0.5B model asked for a whole summary mixed complaints into praise ("The complaint about switching
Bluetooth between devices works seamlessly ... is also commendable"); a part that sees one aspect, one
polarity and that aspect's quotes, and is checked to read that way, cannot.

Why each piece is there:
- `prompt`: one prompt per part (`summary_parts`: up to 3 praised aspects, 2 pain points, 1 need), built from
  `ProductInsight` and a few short quotes of that aspect, never from whole reviews and never with a number
  (the count is the template's, so it cannot be wrong), so the model can only restate what the extraction
  found about that one aspect. Quotes and the aspect's name are customer text: they sit inside a <quotes> block that the
  system prompt declares to be data, with the fence characters stripped from them, so a review saying
  "ignore previous instructions" cannot change the task.
- `summarizing`: generation is slow on CPU (a few tokens per second): a chunk's part prompts go in one
  `Generator.sample` call (n candidates each, cut at a newline, a fixed seed), the candidates are cached by a
  hash of model + part prompt + parameters in `GeneratedText`, and a product whose summary input (its parts'
  hashes) did not change is skipped, so re-running costs nothing. The `summarize_products` job
  (catalog/tasks.py) calls it.
- `choosing`: each candidate is cleaned to one sentence and checked (`grounding` against its part, plus
  `inference.text_checks`: repetition within and across parts, stray characters, unbalanced quotes and
  brackets, reading grade); the most fluent passing one is kept, else the template's sentence for that part;
  the insight's count is added either way.
- `grounding`: a 0.5B model sometimes invents. Sentences that use any number, talk about prices or offers,
  name a product aspect that neither the aspect nor its quotes mention (a fixed list of aspect nouns), name
  another part's aspect, do not name their own, use quantity words the count does not bear out ("most
  reviewers" of 5 in 40), speak as "I" or copy a quote fail: simple, explainable rules, not a proof of
  faithfulness.
- `polarity`: a sentence must read the way its aspect leans and never the opposite (praise that complains,
  a complaint or wish that praises): cue words, phrases and VADER's lexicon, with negation.
- `template`: a deterministic sentence per part built from the insight ("Reviewers praise the battery life
  (12 of 40 reviews)."), for a part none of whose candidates passed, and the opening; when every part falls
  back, or no generator is available, the template summary is stored and `summary_model` says which: the
  model version, or None for the template.
"""
