"""Which sentiment and aspect models serve, and how they are loaded: the one place serving (review
analysis) and training (comparing a candidate with what serves) ask.

A role's active `ModelVersion` serves when its folder is there, loaded once per process and folder
(`inference.registry`). Without one: the sentiment folder named by settings.SENTIMENT_MODEL, else the
prototype classifier; for aspects, the unsupervised extractor fitted on the shop's own reviews.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from inference import registry
from inference.aspects.noun_phrases import UnsupervisedAspectExtractor
from inference.aspects.tagger import AspectTagger
from inference.aspects.terms import AspectExtractor
from inference.sentiment.classifier import SentimentClassifier
from inference.sentiment.finetuned import FineTunedSentiment
from inference.sentiment.prototypes import PrototypeSentiment

from .model_versions import active_version
from .models import ModelRole, ModelVersion

PROTOTYPES = "prototypes"  # what `serving_sentiment_classifier` calls the prototype classifier


def has_files(version: ModelVersion) -> bool:
    """Whether a version's weights are still on disk (a version whose folder is gone cannot serve)."""
    return bool(version.path) and Path(version.path).is_dir()


# --- Sentiment -----------------------------------------------------------------------------------------

def prototype_classifier() -> PrototypeSentiment:
    """The fallback on the shared embedder, built once per process (its prototypes are embedded once)."""
    embedder = registry.embedder()
    return registry.model_folder("sentiment_prototypes", embedder.path, lambda _path: PrototypeSentiment(embedder))


def sentiment_model(folder: str | Path) -> FineTunedSentiment:
    """A fine-tuned classifier from its folder, loaded once per process."""
    return registry.model_folder("sentiment", folder, FineTunedSentiment)


def active_sentiment_classifier() -> tuple[SentimentClassifier, ModelVersion | None]:
    """The classifier that serves, with its version: the active fine-tuned model, else a folder named by
    settings.SENTIMENT_MODEL, else the prototypes (None)."""
    version = active_version(ModelRole.SENTIMENT)
    if version is not None and has_files(version):
        return sentiment_model(version.path), version
    folder = str(getattr(settings, "SENTIMENT_MODEL", "") or "")
    if folder:
        return sentiment_model(folder), None
    return prototype_classifier(), None


def serving_sentiment_classifier() -> tuple[SentimentClassifier | None, str]:
    """What serves now and its name, for a candidate to be measured against: the active version, or the
    prototypes before there is one; None when the active version's files are gone."""
    current = active_version(ModelRole.SENTIMENT)
    if current is None:
        return prototype_classifier(), PROTOTYPES
    if not has_files(current):
        return None, current.name
    return sentiment_model(current.path), current.name


# --- Aspects -------------------------------------------------------------------------------------------

_fallback_lock = threading.Lock()
_fallback: dict[str, UnsupervisedAspectExtractor] = {}  # one fitted extractor, keyed by its corpus


def aspect_tagger(version: ModelVersion) -> AspectTagger | None:
    """A stored tagger, loaded once per process; None when its files are gone."""
    return registry.model_folder("aspects", version.path, AspectTagger) if has_files(version) else None


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
    key = hashlib.sha256("\x00".join([*corpus, "\x01", *map(str, sources or [])]).encode()).hexdigest()
    with _fallback_lock:
        if key not in _fallback:
            _fallback.clear()
            _fallback[key] = UnsupervisedAspectExtractor().fit(corpus, sources)
        return _fallback[key], None


def forget_loaded_models() -> None:
    """After a version is activated: models loaded in this process are dropped, so the new one serves."""
    registry.clear()
