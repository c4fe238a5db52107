"""One `Scorer` per worker process for review analysis chunks: the models load once, not once per chunk.

A chunked `analyze_reviews` job sends many chunks to each worker; loading the sentiment, aspect and embedding
models takes seconds, so the scorer is kept and reused while the active model versions stay the same. It is
built again when a version is activated, or after SCORER_MAX_AGE seconds (the fallback aspect extractor is
fitted on the shop's latest reviews, which move on).
"""

from __future__ import annotations

import threading
import time

from .insights.reviews import CORPUS_REVIEWS, chinese_corpus
from .insights.scoring import Scorer, load_scorer, review_text
from .models import ModelRole, ModelVersion, Review

SCORER_MAX_AGE = 3600.0

_lock = threading.Lock()
_cached: dict[str, tuple[tuple[int, ...], float, Scorer]] = {}
_builds = [0]  # scorers built by this process (a test reads it through `builds()`)


def _active_versions() -> tuple[int, ...]:
    roles = [ModelRole.SENTIMENT, ModelRole.ASPECTS]
    active = ModelVersion.objects.filter(role__in=roles, is_active=True).order_by("pk")
    return tuple(active.values_list("pk", flat=True))


def worker_scorer() -> Scorer:
    """This process's scorer for the active models (loaded on first use, rebuilt when they change)."""
    key = _active_versions()
    with _lock:
        found = _cached.get("scorer")
        if found is not None and found[0] == key and time.monotonic() - found[1] < SCORER_MAX_AGE:
            return found[2]
        rows = list(Review.objects.order_by("-pk").values_list("title", "text", "product_id")[:CORPUS_REVIEWS])
        scorer = load_scorer(
            [review_text(title, text) for title, text, _ in rows], sources=[p for *_, p in rows],
            chinese_corpus=chinese_corpus(),
        )
        _cached["scorer"] = (key, time.monotonic(), scorer)
        _builds[0] += 1
        return scorer


def builds() -> int:
    """How many times this process built a scorer: a chunked analysis builds it once, not per chunk."""
    return _builds[0]
