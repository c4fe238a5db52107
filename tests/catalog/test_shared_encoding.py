"""Review analysis shares one encoder pass between the steps that read the same text with the same model,
and stores what reading each step on its own stored: same labels, scores, aspects with their polarity and
wishes, needs, and embeddings within 1e-5 (real packaged models, real database)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.insights.needs import mark_wishes, needs_summary
from catalog.insights.reviews import analyze_reviews, chinese_corpus
from catalog.insights.scoring import Scorer, load_scorer, review_text
from catalog.language import detect_language
from catalog.models import Review, ReviewInsight
from inference import registry
from inference.aspects.meta import product_mentions
from inference.aspects.polarity import mentions_with_polarity
from inference.shared_encoding import SharedPass
from tests.catalog.builders import product, review

# Repeated texts, a clause that is the whole review, markup, a long paste, Chinese, wishes and contrasts.
REVIEWS = [
    ("Love it", "The battery lasts all week and the screen is bright."),
    ("Broke fast", "The strap snapped after two days. Terrible quality."),
    ("", "It is okay. Arrived on time, nothing special."),
    ("Great sound", "Great sound, but the ear cushions get hot after an hour."),
    ("", "音质很好，但是电池续航太短了。希望电池更耐用。"),
    ("", "<p>Nice <b>kettle</b></p> boils fast &amp; quiet"),
    ("", "The screen is great. " * 400),
    ("Mixed", "The battery is weak. The screen is great. I wish it had a longer cable."),
    ("", "The battery is weak."),
    ("Love it", "The battery lasts all week and the screen is bright."),
    ("", "The ear cushions are soft but the app crashes. I wish the app had a proper equalizer."),
    ("Meh", "The strap is fine; the buckle feels cheap and the screen scratches easily."),
    ("", "!!! ..."),
    ("Almost", "Good screen. I wish the battery lasted longer."),
]


def _shop() -> list[Review]:
    watch = product(sku="SH-1", title="Sports watch", category="Wearables > Watches")
    return [
        review(product=watch, rating=(i % 5) + 1, title=title, text=text)
        for i, (title, text) in enumerate(REVIEWS * 2)
    ]


def _step_by_step(scorer: Scorer, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Each step calling its own model on its own, as analysis did before the passes were shared."""
    languages = [detect_language(text) for text in texts]
    rows = []
    embeddings = scorer.embedder.encode(texts)
    for i, text in enumerate(texts):
        classifier, _ = scorer.route(languages[i])
        prediction = classifier.predict([text])[0]
        extractor = scorer.aspects_by_language.get(languages[i], scorer.aspects)

        def classify(contexts: list[str], model: Any = classifier) -> list[str]:
            return [p.label for p in model.predict(contexts)] if contexts else []

        mentions = mentions_with_polarity(extractor, [text], classify)[0]
        rows.append({
            "sentiment": prediction.label,
            "sentiment_score": round(float(prediction.score), 4),
            "polarity": round(float(prediction.polarity), 4),
            "aspects": mark_wishes(text, product_mentions(text, [m.as_dict() for m in mentions])),
            "embedding": embeddings[i],
        })
    return rows


@pytest.mark.slow
@pytest.mark.django_db
def test_shared_pass_stores_what_each_step_alone_stored(isolated_models: None) -> None:
    reviews = _shop()
    rows = list(Review.objects.order_by("-pk").values_list("title", "text", "product_id"))
    texts = [review_text(r.title, r.text) for r in reviews]
    scorer = load_scorer([review_text(t, x) for t, x, _ in rows], sources=[p for *_, p in rows],
                         chinese_corpus=chinese_corpus())
    expected = _step_by_step(scorer, texts)

    assert analyze_reviews(scorer=scorer) == {"analyzed": len(reviews), "skipped": 0}
    stored = {i.review_id: i for i in ReviewInsight.objects.all()}
    for written, text, want in zip(reviews, texts, expected, strict=True):
        got = stored[written.pk]
        assert got.sentiment == want["sentiment"], text[:60]
        assert abs(got.sentiment_score - want["sentiment_score"]) <= 1.01e-4, text[:60]
        assert abs(got.polarity - want["polarity"]) <= 1.01e-4, text[:60]
        assert got.aspects == want["aspects"], text[:60]
        np.testing.assert_allclose(np.asarray(got.embedding), want["embedding"], atol=1e-5)
    # the pieces that carry the outcome are there to compare: clause polarity on both sides, a wish, Chinese
    sources = {a["polarity_source"] for i in stored.values() for a in i.aspects}
    assert sources == {"clause"}
    assert any(a.get("wish") for i in stored.values() for a in i.aspects)
    assert {i.language for i in stored.values()} >= {"en", "zh"}
    # needs read from the stored aspects are the same as from the step-by-step ones
    needs_rows = [(r.pk, t) for r, t in zip(reviews, texts, strict=True)]
    assert needs_summary(needs_rows, aspects=[stored[r.pk].aspects for r in reviews]) == needs_summary(
        needs_rows, aspects=[w["aspects"] for w in expected]
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_a_chunk_is_read_in_one_query_and_written_in_one(isolated_models: None) -> None:
    reviews = _shop()
    scorer = load_scorer([review_text(r.title, r.text) for r in reviews], chinese_corpus=chinese_corpus())
    with CaptureQueriesContext(connection) as queries:
        analyze_reviews([r.pk for r in reviews], scorer=scorer)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(writes) == 1 and "ON CONFLICT" in writes[0]
    assert len(queries.captured_queries) <= 6, [q["sql"][:80] for q in queries.captured_queries]
    assert ReviewInsight.objects.count() == len(reviews)


@pytest.mark.slow
def test_shared_pass_encodes_each_distinct_text_once_with_the_embedders_vectors() -> None:
    embedder = registry.embedder()
    seen: list[list[str]] = []

    class Counting:  # the real embedder, with the texts each call encoded written down
        version, dimensions = embedder.version, embedder.dimensions

        def encode(self, texts: Sequence[str], batch_size: int | None = None, on_batch: Any = None) -> np.ndarray:
            seen.append(list(texts))
            return embedder.encode(texts, batch_size, on_batch)

    shared = SharedPass(Counting())
    reviews = ["The battery is weak.", " Great\u0000 screen!", "The battery is weak.", ""]
    first = shared.encode(reviews)
    clauses = shared.encode(["The battery is weak.", "Great screen!", "the lid rattles"])
    # read as the encoder reads them (cleaned): a repeat, or a clause read before, is not encoded again
    assert seen == [["The battery is weak.", "Great screen!", ""], ["the lid rattles"]]
    np.testing.assert_allclose(first, embedder.encode(reviews), atol=1e-5)
    np.testing.assert_allclose(clauses, embedder.encode(["The battery is weak.", "Great screen!", "the lid rattles"]),
                               atol=1e-5)
    assert shared.encode([]).shape == (0, embedder.dimensions)
