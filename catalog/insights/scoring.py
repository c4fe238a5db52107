"""Scoring texts with the active models: one path for reviews in the database and for `score_reviews` files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import registry
from inference.aspects.polarity import aspect_polarities
from inference.aspects.terms import AspectExtractor
from inference.sentiment.classifier import SentimentClassifier

from ..active_models import active_aspect_extractor, active_sentiment_classifier, prototype_classifier
from ..language import detect_language
from ..models import ModelVersion
from .needs import mark_wishes

CJK_LANGUAGES = {"zh", "ja", "ko"}


@dataclass
class TextScore:
    language: str
    sentiment: str
    sentiment_score: float
    polarity: float
    aspects: list[dict[str, Any]]
    embedding: np.ndarray | None = None
    sentiment_by_fallback: bool = False  # scored by the prototype classifier, not the active version


@dataclass
class Scorer:
    """The active models, loaded once: sentiment, aspects and embeddings, with their versions."""

    sentiment: SentimentClassifier
    sentiment_version: ModelVersion | None
    aspects: AspectExtractor
    aspect_version: ModelVersion | None
    embedder: Any = None
    # The fine-tuned models are English (MiniLM): for Chinese, Japanese and Korean text the multilingual
    # prototype classifier did better on the development data (binary macro-F1 0.57 against 0.37).
    fallback_sentiment: SentimentClassifier | None = None
    versions_key: str = field(init=False)

    def __post_init__(self) -> None:
        sentiment = str(self.sentiment_version.pk) if self.sentiment_version else str(self.sentiment.version)
        fallback = getattr(self.aspects, "version", "unsupervised")
        aspects = str(self.aspect_version.pk) if self.aspect_version else fallback
        self.versions_key = f"s:{sentiment}|a:{aspects}|e:{getattr(self.embedder, 'version', '')}"

    def score(
        self, texts: Sequence[str], declared_languages: Sequence[str] | None = None, *, embed: bool = True
    ) -> list[TextScore]:
        languages = [
            detect_language(text, (declared_languages or [""] * len(texts))[i]) for i, text in enumerate(texts)
        ]
        predictions = list(self.sentiment.predict(texts))
        by_fallback = [False] * len(texts)
        if self.fallback_sentiment is not None and self.sentiment_version is not None:
            cjk = [i for i, language in enumerate(languages) if language in CJK_LANGUAGES]
            if cjk:
                for i, prediction in zip(cjk, self.fallback_sentiment.predict([texts[i] for i in cjk]), strict=True):
                    predictions[i] = prediction
                    by_fallback[i] = True
        terms_per_text = self.aspects.extract(texts)
        embeddings = self.embedder.encode(texts) if embed and self.embedder is not None else None

        def classify(contexts: list[str]) -> list[str]:
            return [p.label for p in self.sentiment.predict(contexts)] if contexts else []

        results = []
        for i, text in enumerate(texts):
            terms = terms_per_text[i]
            polarities = aspect_polarities(text, terms, classify) if terms else []
            prediction = predictions[i]
            results.append(
                TextScore(
                    language=languages[i],
                    sentiment=prediction.label,
                    sentiment_score=round(float(prediction.score), 4),
                    polarity=round(float(prediction.polarity), 4),
                    aspects=mark_wishes(  # a wish is a need: neither praise nor a pain point
                        text,
                        [
                            {"term": t.term, "polarity": polarity, "start": t.start, "end": t.end}
                            for t, polarity in zip(terms, polarities, strict=True)
                        ],
                    ),
                    embedding=None if embeddings is None else embeddings[i],
                    sentiment_by_fallback=by_fallback[i],
                )
            )
        return results


def load_scorer(
    corpus: Sequence[str] | None = None, *, embed: bool = True, sources: Sequence[object] | None = None
) -> Scorer:
    """The active sentiment and aspect models (or their fallbacks) and the embedder; `corpus` (with the
    product of each text as `sources`) is what the fallback aspect extractor learns the shop's aspects from."""
    sentiment, sentiment_version = active_sentiment_classifier()
    aspects, aspect_version = active_aspect_extractor(corpus=corpus, sources=sources)
    fallback = prototype_classifier() if sentiment_version is not None else None
    return Scorer(
        sentiment, sentiment_version, aspects, aspect_version, registry.embedder() if embed else None, fallback
    )


def review_text(title: str, text: str) -> str:
    """A review as the models read it and as its hash is taken: the title, then the body."""
    title, text = (title or "").strip(), (text or "").strip()
    if title and text:
        return f"{title}. {text}" if title[-1] not in ".!?。！？" else f"{title} {text}"
    return title or text
