"""Scoring texts with the active models: one path for reviews in the database and for `score_reviews` files."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import registry
from inference.aspects.meta import product_mentions
from inference.aspects.polarity import mentions_with_polarity
from inference.aspects.terms import AspectExtractor
from inference.sentiment.classifier import SentimentClassifier, SentimentPrediction
from inference.sentiment.prototypes import PrototypeSentiment
from inference.shared_encoding import SharedPass

from ..active_models import SentimentRoutes, active_aspect_extractor, chinese_aspect_extractor, sentiment_routes
from ..language import detect_language
from ..models import ModelVersion
from .needs import mark_wishes


@dataclass
class TextScore:
    language: str
    sentiment: str
    sentiment_score: float
    polarity: float
    aspects: list[dict[str, Any]]
    embedding: np.ndarray | None = None
    sentiment_by_fallback: bool = False  # scored by the prototype classifier, not a trained version
    sentiment_model: ModelVersion | None = None  # the version that read it (None: prototypes or a settings folder)


@dataclass
class Scorer:
    """The active models, loaded once: sentiment per language, aspects and embeddings, with their versions.

    Each text is read by the sentiment model of its language (`active_models.SentimentRoutes`): the
    English fine-tune, or, for a language it does not read, that language's own model (Chinese: character
    n-grams), else the prototype classifier. Chinese text goes to the Chinese aspect extractor.
    """

    sentiment: SentimentClassifier  # the English (default) route
    sentiment_version: ModelVersion | None
    aspects: AspectExtractor
    aspect_version: ModelVersion | None
    embedder: Any = None
    routes: SentimentRoutes | None = None  # None: `sentiment` reads every language
    aspects_by_language: dict[str, AspectExtractor] = field(default_factory=dict)
    versions_key: str = field(init=False)

    def __post_init__(self) -> None:
        self.versions_key = self.key_for("en")

    def route(self, language: str) -> tuple[SentimentClassifier, ModelVersion | None]:
        return self.routes(language) if self.routes is not None else (self.sentiment, self.sentiment_version)

    def key_for(self, language: str) -> str:
        """The models that read a text of `language`, as stored in its hash: a new Chinese model
        re-analyses Chinese reviews only."""
        if self.routes is not None:
            sentiment = self.routes.key(language)
        else:
            sentiment = str(self.sentiment_version.pk) if self.sentiment_version else str(self.sentiment.version)
        extractor = self.aspects_by_language.get(language)
        if extractor is not None:
            aspects = f"{language}-{getattr(extractor, 'version', 'extractor')}"
        else:
            fallback = str(getattr(self.aspects, "version", "unsupervised"))
            aspects = str(self.aspect_version.pk) if self.aspect_version else fallback
        return f"s:{sentiment}|a:{aspects}|e:{getattr(self.embedder, 'version', '')}"

    def text_key(self, text: str, declared_language: str = "") -> str:
        return self.key_for(detect_language(text, declared_language))

    def score(
        self, texts: Sequence[str], declared_languages: Sequence[str] | None = None, *, embed: bool = True
    ) -> list[TextScore]:
        """Sentiment, aspects with polarity, wishes and embedding of each text. Models that read the same
        text with the same encoder share its pass (`SharedPass`): the embedding, the prototype sentiment
        of the whole text and of each aspect's clause are one encoding of each distinct text."""
        languages = [
            detect_language(text, (declared_languages or [""] * len(texts))[i]) for i, text in enumerate(texts)
        ]
        shared = _SharedPasses(self.embedder)
        # the embedding first, as one call over the chunk: the vectors the sentiment steps then reuse
        embeddings = shared.encode(texts) if embed and self.embedder is not None else None
        routes = [self.route(language) for language in languages]
        predictions: list[Any] = [None] * len(texts)
        for rows in _groups([id(classifier) for classifier, _ in routes]):
            classifier = routes[rows[0]][0]
            for i, prediction in zip(rows, shared.predict(classifier, [texts[i] for i in rows]), strict=True):
                predictions[i] = prediction
        # aspects, with polarity per mention from the tagger's polarity head when it has one, else the
        # sentiment of its clause by the text's own sentiment model: one call per (extractor, model)
        mentions_per_text: list[Any] = [None] * len(texts)
        extractors = [self.aspects_by_language.get(language, self.aspects) for language in languages]
        for rows in _groups([(id(extractors[i]), id(routes[i][0])) for i in range(len(texts))]):
            extractor, group_classifier = extractors[rows[0]], routes[rows[0]][0]

            def classify(contexts: list[str], classifier: SentimentClassifier = group_classifier) -> list[str]:
                return [p.label for p in shared.predict(classifier, contexts)] if contexts else []

            for i, mentions in zip(rows, mentions_with_polarity(extractor, [texts[i] for i in rows], classify),
                                   strict=True):
                mentions_per_text[i] = mentions

        results = []
        for i in range(len(texts)):
            classifier, version = routes[i]
            prediction = predictions[i]
            results.append(
                TextScore(
                    language=languages[i],
                    sentiment=prediction.label,
                    sentiment_score=round(float(prediction.score), 4),
                    polarity=round(float(prediction.polarity), 4),
                    aspects=mark_wishes(  # a wish is a need: neither praise nor a pain point
                        texts[i], product_mentions(texts[i], [mention.as_dict() for mention in mentions_per_text[i]])
                    ),
                    embedding=None if embeddings is None else embeddings[i],
                    sentiment_by_fallback=version is None and classifier is not self.sentiment,
                    sentiment_model=version,
                )
            )
        return results


class _SharedPasses:
    """The encoder passes of one `Scorer.score` call: one `SharedPass` per embedder, so the embedding and
    every prototype classifier on that embedder read each distinct text once."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self._passes: dict[int, SharedPass] = {}

    def _pass(self, embedder: Any) -> SharedPass:
        if id(embedder) not in self._passes:
            self._passes[id(embedder)] = SharedPass(embedder)
        return self._passes[id(embedder)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._pass(self.embedder).encode(texts)

    def predict(self, classifier: SentimentClassifier, texts: Sequence[str]) -> list[SentimentPrediction]:
        if isinstance(classifier, PrototypeSentiment):
            return classifier.predict(texts, shared=self._pass(classifier.embedder))
        return classifier.predict(texts)


def _groups(keys: Sequence[Hashable]) -> list[list[int]]:
    """Row indices grouped by key, in first-seen order: one model call per model."""
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def load_scorer(
    corpus: Sequence[str] | None = None,
    *,
    embed: bool = True,
    sources: Sequence[object] | None = None,
    chinese_corpus: Sequence[str] | None = None,
) -> Scorer:
    """The active sentiment models per language and aspect models (or their fallbacks) and the embedder;
    the unsupervised extractor learns the shop's aspects from `corpus` (with the product of each text as
    `sources`), the Chinese one from `chinese_corpus` (default `corpus`)."""
    routes = sentiment_routes()
    sentiment, sentiment_version = routes.default
    aspects, aspect_version = active_aspect_extractor(corpus=corpus, sources=sources)
    return Scorer(
        sentiment, sentiment_version, aspects, aspect_version, registry.embedder() if embed else None,
        routes=routes, aspects_by_language={"zh": chinese_aspect_extractor(chinese_corpus or corpus)},
    )


def review_text(title: str, text: str) -> str:
    """A review as the models read it and as its hash is taken: the title, then the body."""
    title, text = (title or "").strip(), (text or "").strip()
    if title and text:
        return f"{title}. {text}" if title[-1] not in ".!?。！？" else f"{title} {text}"
    return title or text
