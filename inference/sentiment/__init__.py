"""Review sentiment (negative / neutral / positive): a fine-tuned encoder, or labelled prototypes.

No sentiment classifier ships in any package we may install, so the model is trained on the shop's
own rated reviews (1-2 stars negative, 3 neutral, 4-5 positive) by fine-tuning the packaged MiniLM
encoder end to end with a classification head (`training`): a linear head on frozen embeddings
transferred worse than a lexicon (DESIGN.md). Until a shop has enough ratings, `prototypes` classifies
by similarity to labelled example sentences (`prototype_examples`).

Both classifiers share one interface (`classifier.SentimentClassifier`): `version` and `predict(texts)`,
batched by length, any input text accepted (empty, huge, markup, mixed languages) without raising.
"""
