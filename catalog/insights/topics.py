"""Topics of a product's reviews: clusters of review embeddings labelled by their distinctive words.

Words are English words (sklearn's pattern and stop words), or, when the reviews hold Chinese, the words
of the Chinese segmenter (`inference.aspects.chinese.words`, stop words left out) beside the Latin ones,
so Chinese topics get Chinese keywords ("蓝牙连接", not nothing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from inference.aspects.chinese import HAN, words

_LATIN_WORD = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z]+\b")


def mixed_words(text: str) -> list[str]:
    """Chinese words from the segmenter and English words without stop words, in text order."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [word for word in words(text) if not (_LATIN_WORD.fullmatch(word) and word in ENGLISH_STOP_WORDS)]


def _vectorizer(documents: Sequence[str]) -> Any:
    # heavy: scikit-learn loads only when a product has enough reviews to cluster
    from sklearn.feature_extraction.text import CountVectorizer

    if any(HAN.search(document) for document in documents):
        return CountVectorizer(tokenizer=mixed_words, token_pattern=None, lowercase=False, ngram_range=(1, 2))
    return CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1, token_pattern=_LATIN_WORD.pattern)


def _joined(keyword: str) -> str:
    """A Chinese bigram is written as one word ("蓝牙 连接" -> "蓝牙连接")."""
    return re.sub(f"(?<=[{HAN.pattern[1:-1]}]) (?=[{HAN.pattern[1:-1]}])", "", keyword)


def topics_from_embeddings(
    texts: Sequence[str], embeddings: np.ndarray, *, max_topics: int = 6, min_reviews: int = 8, keywords: int = 6
) -> list[dict[str, Any]]:
    """Cluster review embeddings and label each cluster by its distinctive words (c-TF-IDF).

    c-TF-IDF treats each cluster as one document: a word's weight is its frequency in the cluster times
    log(1 + average words per cluster / the word's frequency across clusters), so words common to every
    cluster (the product's name, "good") sink and words particular to one rise.
    """
    n = len(texts)
    if n < min_reviews:
        return []
    # heavy: scikit-learn loads only when a product has enough reviews to cluster
    from sklearn.cluster import KMeans

    k = max(2, min(max_topics, round(math.sqrt(n / 2))))
    labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(embeddings)
    documents = [" ".join(texts[i] for i in range(n) if labels[i] == c) for c in range(k)]
    vectorizer = _vectorizer(documents)
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(float)
    except ValueError:  # no words left: no labelled topics
        return []
    vocabulary = np.array(vectorizer.get_feature_names_out())
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average_words = counts.sum() / k
    idf = np.log(1 + average_words / np.maximum(counts.sum(axis=0), 1))
    weights = tf * idf
    topics: list[dict[str, Any]] = []
    for c in range(k):
        members = [i for i in range(n) if labels[i] == c]
        if not members:
            continue
        order = np.argsort(-weights[c])
        candidates = [_joined(str(vocabulary[j])) for j in order[: keywords * 2] if weights[c, j] > 0]
        chosen: list[str] = []
        for word in candidates:  # skip a unigram already inside a chosen bigram, and vice versa
            if any(word in other or other in word for other in chosen):
                continue
            chosen.append(word)
            if len(chosen) == keywords:
                break
        centroid = embeddings[members].mean(axis=0)
        representative = max(members, key=lambda i: float(np.dot(embeddings[i], centroid)))
        topics.append(
            {
                "label": ("、" if all(HAN.match(w) for w in chosen[:3]) else ", ").join(chosen[:3]),
                "keywords": chosen,
                "size": len(members),
                "example": texts[representative][:240],
            }
        )
    topics.sort(key=lambda t: -t["size"])
    return topics
