"""Which sentiment and aspect models serve, and how they are loaded: the one place serving (review
analysis) and training (comparing a candidate with what serves) ask.

A role's active `ModelVersion` serves when its folder is there, loaded once per process and folder
(`inference.registry`). Sentiment has one active version per language: a review is read by the model
of its language; without one, a language the English encoder reads (Latin script) goes to the English
model (the active "en" version, else the folder named by settings.SENTIMENT_MODEL, else the prototype
classifier) and any other script to the prototype classifier. Aspects: the active tagger, else the
unsupervised extractor fitted on the shop's own reviews; Chinese text goes to the Chinese extractor.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from django.conf import settings

from inference import registry
from inference.aspects.chinese import ChineseAspectExtractor
from inference.aspects.noun_phrases import UnsupervisedAspectExtractor
from inference.aspects.tagger import AspectTagger
from inference.aspects.terms import AspectExtractor
from inference.sentiment.classifier import SentimentClassifier
from inference.sentiment.finetuned import FineTunedSentiment
from inference.sentiment.ngram import NgramSentiment, is_ngram_folder
from inference.sentiment.prototypes import PrototypeSentiment

from .language import LATIN_SCRIPT
from .model_versions import active_version
from .models import ModelRole, ModelVersion

PROTOTYPES = "prototypes"  # what `serving_sentiment_classifier` calls the prototype classifier
ENGLISH = "en"  # the language of the fine-tuned encoder (MiniLM was trained on English)


def encoder_reads(language: str) -> bool:
    """Whether the English encoder is the model for `language`: English, or another Latin-script
    language without a model of its own. CJK, Cyrillic, Arabic... get a character n-gram model."""
    return not language or language in LATIN_SCRIPT


def has_files(version: ModelVersion) -> bool:
    """Whether a version's weights are still on disk (a version whose folder is gone cannot serve)."""
    return bool(version.path) and Path(version.path).is_dir()


# --- Sentiment -----------------------------------------------------------------------------------------

def prototype_classifier() -> PrototypeSentiment:
    """The fallback on the shared embedder, built once per process (its prototypes are embedded once)."""
    embedder = registry.embedder()
    return registry.model_folder(
        registry.SENTIMENT_PROTOTYPES, embedder.path, lambda _path: PrototypeSentiment(embedder)
    )


def _load_sentiment_folder(path: Path) -> SentimentClassifier:
    return NgramSentiment(path) if is_ngram_folder(path) else FineTunedSentiment(path)


def sentiment_model(folder: str | Path) -> SentimentClassifier:
    """A sentiment model from its folder (fine-tuned encoder or character n-grams), loaded once per process."""
    return registry.model_folder(registry.SENTIMENT, folder, _load_sentiment_folder)


def active_sentiment_classifier(language: str = ENGLISH) -> tuple[SentimentClassifier, ModelVersion | None]:
    """The classifier that reads `language`, with its version: that language's active model; else, for
    a language the encoder reads, the active English model or the folder named by settings.SENTIMENT_MODEL;
    else the prototypes (version None)."""
    version = active_version(ModelRole.SENTIMENT, language) if language else None
    if version is not None and has_files(version):
        return sentiment_model(version.path), version
    if not encoder_reads(language):
        return prototype_classifier(), None
    version = active_version(ModelRole.SENTIMENT, ENGLISH)
    if version is not None and has_files(version):
        return sentiment_model(version.path), version
    folder = str(getattr(settings, "SENTIMENT_MODEL", "") or "")
    if folder:
        return sentiment_model(folder), None
    return prototype_classifier(), None


def serving_sentiment_classifier(language: str = ENGLISH) -> tuple[SentimentClassifier | None, str]:
    """What reads `language` now and its name, for a candidate of that language to be measured against
    (the routing of `active_sentiment_classifier`); None when the serving version's files are gone."""
    current = active_version(ModelRole.SENTIMENT, language)
    if current is None and encoder_reads(language) and language != ENGLISH:
        current = active_version(ModelRole.SENTIMENT, ENGLISH)
    if current is None:
        return prototype_classifier(), PROTOTYPES
    if not has_files(current):
        return None, current.name
    return sentiment_model(current.path), current.name


Route = tuple[SentimentClassifier, ModelVersion | None]


@dataclass
class SentimentRoutes:
    """The classifier of each language, resolved once per language and kept (a Scorer holds one)."""

    default: Route  # English, and Latin-script languages without a model of their own
    languages: dict[str, ModelVersion] = field(default_factory=dict)  # active versions by language
    _resolved: dict[str, Route] = field(default_factory=dict, init=False, repr=False)

    def __call__(self, language: str) -> Route:
        if language not in self._resolved:
            version = self.languages.get(language)
            if version is not None and has_files(version):
                self._resolved[language] = (sentiment_model(version.path), version)
            elif encoder_reads(language):
                self._resolved[language] = self.default
            else:
                self._resolved[language] = (prototype_classifier(), None)
        return self._resolved[language]

    def key(self, language: str) -> str:
        """What identifies the model reading `language` (part of each review's hash), without loading it:
        English keeps the form it always had, so adding a Chinese model re-analyses no English review."""
        version = self.languages.get(language)
        if version is not None and has_files(version):
            return str(version.pk)
        if encoder_reads(language):
            classifier, default_version = self.default
            return str(default_version.pk) if default_version else str(classifier.version)
        return PROTOTYPES


def sentiment_routes() -> SentimentRoutes:
    """Every active sentiment version by language, and the English (default) route."""
    versions = {v.language: v for v in ModelVersion.objects.filter(role=ModelRole.SENTIMENT, is_active=True)}
    return SentimentRoutes(active_sentiment_classifier(ENGLISH), versions)


# --- Aspects -------------------------------------------------------------------------------------------

T = TypeVar("T")
_fitted_lock = threading.Lock()
_fitted: dict[str, tuple[str, Any]] = {}  # kind -> (hash of its corpus, the extractor fitted on it)


def _fitted_on(kind: str, corpus_parts: Sequence[str], fit: Callable[[], T]) -> T:
    """One fitted extractor of each kind per process, kept while its corpus stays the same: fitting reads
    thousands of reviews, and every analysis run asks again."""
    key = hashlib.sha256("\x00".join(corpus_parts).encode()).hexdigest()
    with _fitted_lock:
        known = _fitted.get(kind)
        if known is None or known[0] != key:
            known = _fitted[kind] = (key, fit())
        return cast(T, known[1])


def aspect_tagger(version: ModelVersion) -> AspectTagger | None:
    """A stored tagger, loaded once per process; None when its files are gone."""
    return registry.model_folder(registry.ASPECTS, version.path, AspectTagger) if has_files(version) else None


def active_aspect_extractor(
    corpus: Sequence[str] | None = None, sources: Sequence[object] | None = None
) -> tuple[AspectExtractor, ModelVersion | None]:
    """The active tagger with its version; without one, the unsupervised extractor fitted on `corpus`
    (the shop's review texts, with `sources` the product of each, so an aspect is what reviewers of
    several products mention; cached while the corpus stays the same), or, without a corpus, a fresh
    one that fits on the first texts it is asked to read; its version is None."""
    version = active_version(ModelRole.ASPECTS)
    tagger = aspect_tagger(version) if version is not None else None
    if tagger is not None:
        return tagger, version
    if not corpus:
        return UnsupervisedAspectExtractor(), None
    parts = [*corpus, "\x01", *map(str, sources or [])]
    return _fitted_on("unsupervised", parts, lambda: UnsupervisedAspectExtractor().fit(corpus, sources)), None


def chinese_aspect_extractor(corpus: Sequence[str] | None = None) -> ChineseAspectExtractor:
    """The Chinese extractor fitted on the Chinese texts of `corpus` (cached while they stay the same);
    without any, one that fits on the first texts it reads."""
    if not corpus:
        return ChineseAspectExtractor()
    return _fitted_on("zh", corpus, lambda: ChineseAspectExtractor().fit(corpus))


def forget_loaded_models() -> None:
    """After a version is activated: models loaded in this process are dropped, so the new one serves."""
    registry.clear()
