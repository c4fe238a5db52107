"""Aspect terms in review text ("battery life", "screen"), and the context their polarity is read from.

Two extractors share one interface (`terms.AspectExtractor`: `extract(texts) -> list[list[AspectTerm]]`,
spans exactly as they appear in the caller's text):

- `tagger.AspectTagger`: the packaged MiniLM encoder fine-tuned as a token tagger (BIO over word pieces,
  `bio`), trained on labelled aspect terms by `training.train_aspect_tagger`.
- `noun_phrases.UnsupervisedAspectExtractor`: what serves before anyone trained a tagger: noun-phrase
  candidates from spaCy's small English model, kept when frequent across the corpus (and across
  products, when told the product of each text), near-synonyms merged by embedding similarity so
  "warranty" and "warrenty" count as one aspect; discourse nouns, idioms and the settings of verbs
  ("slides off the table") are no candidates.

An aspect's polarity comes from the tagger's polarity head (`polarity_head`, trained with the tags on
labelled mentions) when it has one, else from the sentiment classifier run on the clause around the term
(`polarity`): "great screen but the battery dies fast" is positive about the screen and negative about
the battery, which the whole sentence's sentiment cannot say.
"""
