"""Review insight: what the models read in each review, and what reviewers say about each product.

Per review (`reviews.analyze_reviews`, scored by `scoring.Scorer`): language, sentiment with a score,
aspect terms with their polarity, and a 384-d embedding, stored in `ReviewInsight` with the model
versions that produced them.

Per product (`products.compute_product_insights`): rating and sentiment distributions and their monthly
trend, praised aspects and pain points (`aspects`), topics (`topics`: clusters of review embeddings
labelled by class-based TF-IDF, as BERTopic does), and needs (`needs`: what reviewers wish the product
had), each with quotes (`quotes`).
"""
