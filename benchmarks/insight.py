"""Review insight speed: our embedding path against the raw model on the same texts, embeddings for
10,000 reviews, reviews per second end to end (database -> models -> database), and peak memory."""

from __future__ import annotations

import resource
import time

import numpy as np

from .common import Result, median_time

RAW_TEXTS = 2000  # texts for the raw-vs-ours comparison (each repeat embeds them all)
EMBED_TEXTS = 10_000
END_TO_END = 1000


def _demo_texts(count: int) -> list[str]:
    """Review texts from the demo generator (realistic lengths), without touching the database."""
    from demo.seed import SeedOptions, plan_shop

    plan = plan_shop(SeedOptions(seed=7, products=120, customers=max(200, count // 3), events=2000, reviews=count))
    return [f"{r.title}. {r.text}" for r in plan.reviews][:count]


def run() -> list[Result]:
    import torch

    from catalog.insights.reviews import analyze_reviews
    from catalog.insights.scoring import load_scorer
    from catalog.models import Review, ReviewInsight
    from demo.seed import SeedOptions, seed_shop
    from inference.embedding import Embedder

    texts = _demo_texts(EMBED_TEXTS)
    sample = texts[:RAW_TEXTS]
    embedder = Embedder()
    batch = embedder.device.embed_batch_size

    @torch.inference_mode()
    def raw() -> None:
        # the raw model as a notebook would run it: input order, fixed batches, same pooling work
        for start in range(0, len(sample), batch):
            encoded = embedder.tokenizer(
                sample[start : start + batch], padding=True, truncation=True, max_length=256, return_tensors="pt"
            )
            hidden = embedder.model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)

    raw_s = median_time(raw, repeats=3)
    ours_s = median_time(lambda: embedder.encode(sample), repeats=3)
    start = time.perf_counter()
    vectors = embedder.encode(texts)
    embed_10k_s = time.perf_counter() - start
    assert vectors.shape == (len(texts), 384) and np.isfinite(vectors).all()

    # end to end on a demo shop in the benchmark database
    seed_shop(SeedOptions(seed=11, products=60, customers=400, events=3000, reviews=END_TO_END, force=True))
    ids = list(Review.objects.order_by("pk").values_list("pk", flat=True)[:END_TO_END])
    scorer = load_scorer([f"{t} {x}" for t, x in Review.objects.filter(pk__in=ids).values_list("title", "text")])
    ReviewInsight.objects.filter(review_id__in=ids).delete()
    start = time.perf_counter()
    analyze_reviews(ids, scorer=scorer)
    end_to_end_s = time.perf_counter() - start
    rerun_s = median_time(lambda: analyze_reviews(ids, scorer=scorer), repeats=1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base = "embedding: raw model, input order (baseline)"
    models = (
        f"sentiment={scorer.sentiment_version.name if scorer.sentiment_version else 'prototype'}, "
        f"aspects={scorer.aspect_version.name if scorer.aspect_version else 'unsupervised'}"
    )
    print(f"end-to-end models: {models}; peak memory of this process (the worker's work): {peak_mb:.0f} MB")
    return [
        Result(base, "texts", len(sample), raw_s),
        Result("embedding: ours, length-sorted batches", "texts", len(sample), ours_s, baseline=base),
        Result("embedding: 10,000 reviews (ours)", "texts", len(texts), embed_10k_s, baseline=base),
        Result("reviews end to end (db -> models -> db)", "reviews", len(ids), end_to_end_s, baseline=base),
        Result("reviews re-run (unchanged: skipped)", "reviews", len(ids), rerun_s, baseline=base),
    ]
