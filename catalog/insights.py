"""Review insight: what the models read in each review, and what reviewers say about each product.

Per review (`analyze_reviews`): language, sentiment with a score, aspect terms with their polarity,
and a 384-d embedding, stored in `ReviewInsight` with the model versions that produced them. A review
is analysed again only when its text or an active model changed, so re-running does no duplicate work,
and work is committed per chunk, so a killed job resumes where it stopped.

Per product (`compute_product_insights`): rating and sentiment distributions and their monthly trend,
praised aspects and pain points (ranked by frequency and one-sidedness, with representative quotes),
topics (clusters of review embeddings labelled by class-based TF-IDF, as BERTopic does), and needs
(what reviewers wish the product had).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .language import detect_language
from .models import ModelVersion, Product, ProductInsight, Review, ReviewInsight, Sentiment

logger = logging.getLogger(__name__)

CJK_LANGUAGES = {"zh", "ja", "ko"}
CHUNK = 256  # reviews per model pass and per commit: ~1 MB of text, a few seconds on 2 CPU cores
Progress = Callable[[int], None]


# --- Scoring texts: one path for reviews in the database and for score_reviews files ------------------


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

    sentiment: Any
    sentiment_version: ModelVersion | None
    aspects: Any
    aspect_version: ModelVersion | None
    embedder: Any = None
    # The fine-tuned models are English (MiniLM): for Chinese, Japanese and Korean text the multilingual
    # prototype classifier did better on the development data (binary macro-F1 0.57 against 0.37).
    fallback_sentiment: Any = None
    versions_key: str = field(init=False)

    def __post_init__(self) -> None:
        sentiment = str(self.sentiment_version.pk) if self.sentiment_version else str(self.sentiment.version)
        aspects = str(self.aspect_version.pk) if self.aspect_version else "unsupervised"
        self.versions_key = f"s:{sentiment}|a:{aspects}|e:{getattr(self.embedder, 'version', '')}"

    def score(
        self, texts: Sequence[str], declared_languages: Sequence[str] | None = None, *, embed: bool = True
    ) -> list[TextScore]:
        from inference.aspects import aspect_polarities

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
                    aspects=[
                        {"term": t.term, "polarity": polarity, "start": t.start, "end": t.end}
                        for t, polarity in zip(terms, polarities, strict=True)
                    ],
                    embedding=None if embeddings is None else embeddings[i],
                    sentiment_by_fallback=by_fallback[i],
                )
            )
        return results


def load_scorer(corpus: Sequence[str] | None = None, *, embed: bool = True) -> Scorer:
    """The active sentiment and aspect models (or their fallbacks) and the embedder."""
    from inference import registry

    from .aspect_training import active_aspect_extractor
    from .sentiment_training import active_sentiment_classifier, prototype_classifier

    sentiment, sentiment_version = active_sentiment_classifier()
    aspects, aspect_version = active_aspect_extractor(corpus=corpus)
    fallback = prototype_classifier() if sentiment_version is not None else None
    return Scorer(
        sentiment, sentiment_version, aspects, aspect_version, registry.embedder() if embed else None, fallback
    )


def review_text(title: str, text: str) -> str:
    title, text = (title or "").strip(), (text or "").strip()
    if title and text:
        return f"{title}. {text}" if title[-1] not in ".!?。！？" else f"{title} {text}"
    return title or text


def text_hash(text: str, versions_key: str) -> str:
    return hashlib.sha256(f"{versions_key}\n{text}".encode()).hexdigest()


# --- Per review ------------------------------------------------------------------------------------------


def pending_reviews() -> QuerySet[Review]:
    """Reviews without an insight, or edited after it was made (incremental processing)."""
    return Review.objects.filter(Q(insight__isnull=True) | Q(updated_at__gt=F("insight__processed_at"))).order_by("pk")


def analyze_reviews(
    review_ids: Iterable[int] | None = None,
    *,
    progress: Progress | None = None,
    set_total: Callable[[int], None] | None = None,
    scorer: Scorer | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Analyse the given reviews (default: every pending one), CHUNK at a time, committing each chunk.

    A review whose text and model versions are unchanged since its insight was made is skipped, so a
    re-run or a resumed job does no duplicate work.
    """
    queryset = Review.objects.order_by("pk")
    if review_ids is not None:
        queryset = queryset.filter(pk__in=list(review_ids))
    elif not force:
        queryset = pending_reviews()
    ids = list(queryset.values_list("pk", flat=True))
    if set_total:
        set_total(len(ids))
    counts = {"analyzed": 0, "skipped": 0}
    if not ids:
        return counts
    if scorer is None:
        corpus = [review_text(t, x) for t, x in Review.objects.filter(pk__in=ids[:5000]).values_list("title", "text")]
        scorer = load_scorer(corpus)
    for start in range(0, len(ids), CHUNK):
        chunk_ids = ids[start : start + CHUNK]
        analyzed, skipped = _analyze_chunk(chunk_ids, scorer, force=force)
        counts["analyzed"] += analyzed
        counts["skipped"] += skipped
        if progress:
            progress(len(chunk_ids))
    return counts


def _analyze_chunk(ids: list[int], scorer: Scorer, *, force: bool) -> tuple[int, int]:
    reviews = list(Review.objects.filter(pk__in=ids).select_related("insight").order_by("pk"))
    todo: list[tuple[Review, str, str]] = []
    for review in reviews:
        text = review_text(review.title, review.text)
        digest = text_hash(text, scorer.versions_key)
        existing = getattr(review, "insight", None)
        if not force and existing is not None and existing.text_hash == digest:
            continue
        todo.append((review, text, digest))
    if not todo:
        return 0, len(reviews)
    scores = scorer.score([t for _, t, _ in todo], [r.language for r, _, _ in todo])
    now = timezone.now()
    rows = [
        ReviewInsight(
            review=review,
            text_hash=digest,
            language=score.language,
            sentiment=score.sentiment,
            sentiment_score=score.sentiment_score,
            polarity=score.polarity,
            aspects=score.aspects,
            embedding=score.embedding,
            sentiment_model=None if score.sentiment_by_fallback else scorer.sentiment_version,
            aspect_model=scorer.aspect_version,
            embedding_model=getattr(scorer.embedder, "version", ""),
            processed_at=now,
        )
        for (review, _, digest), score in zip(todo, scores, strict=True)
    ]
    fields = [
        "text_hash",
        "language",
        "sentiment",
        "sentiment_score",
        "polarity",
        "aspects",
        "embedding",
        "sentiment_model",
        "aspect_model",
        "embedding_model",
        "processed_at",
    ]
    with transaction.atomic():
        ReviewInsight.objects.bulk_create(rows, update_conflicts=True, unique_fields=["review"], update_fields=fields)
    return len(rows), len(reviews) - len(rows)


# --- Per product: aspects --------------------------------------------------------------------------------

_ARTICLES = re.compile(r"^(the|a|an|this|that|these|those|my|its|their|his|her|our|your)\s+", re.I)


def canonical_aspect(term: str) -> str:
    """Group spellings of one aspect: lower case, no leading article, simple plural folded."""
    value = _ARTICLES.sub("", term.strip().lower())
    value = re.sub(r"\s+", " ", value)
    words = value.split(" ")
    last = words[-1]
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    words[-1] = last
    return " ".join(words)


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def sentence_around(text: str, start: int, end: int, limit: int = 220) -> str:
    """The sentence holding [start, end), trimmed to `limit` characters around the term."""
    left = max(text.rfind(mark, 0, start) for mark in ".!?。！？\n")
    right_candidates = [i for i in (text.find(mark, end) for mark in ".!?。！？\n") if i != -1]
    right = min(right_candidates) + 1 if right_candidates else len(text)
    sentence = text[left + 1 : right].strip()
    if len(sentence) > limit:
        middle = start - (left + 1)
        lo = max(0, middle - limit // 2)
        sentence = ("…" if lo else "") + sentence[lo : lo + limit].strip() + "…"
    return sentence


@dataclass
class _AspectTally:
    mentions: int = 0
    positive: int = 0
    negative: int = 0
    neutral: int = 0
    spellings: Counter[str] = field(default_factory=Counter)
    quotes: dict[str, list[tuple[float, str, int]]] = field(default_factory=lambda: defaultdict(list))


def aspect_summary(
    insights: Sequence[tuple[int, str, list[dict[str, Any]], float | None]], top: int = 8, min_mentions: int = 2
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Praised aspects and pain points from (review id, text, aspects, polarity) rows.

    Rank = mentions on that side x share of that side: an aspect many people mention and that is
    nearly always criticised comes first. Quotes are the sentences that mention it, preferring reviews
    whose overall tone agrees, and short ones.
    """
    tallies: dict[str, _AspectTally] = defaultdict(_AspectTally)
    for review_id, text, aspects, review_polarity in insights:
        seen: set[str] = set()
        for aspect in aspects:
            key = canonical_aspect(str(aspect.get("term", "")))
            if not key or key in seen:
                continue
            seen.add(key)
            tally = tallies[key]
            tally.mentions += 1
            tally.spellings[str(aspect.get("term", "")).strip().lower()] += 1
            side = str(aspect.get("polarity", "neutral"))
            if side == "positive":
                tally.positive += 1
            elif side == "negative":
                tally.negative += 1
            else:
                tally.neutral += 1
            start, end = int(aspect.get("start", 0)), int(aspect.get("end", 0))
            quote = sentence_around(text, start, end) if 0 <= start < end <= len(text) else ""
            if quote:
                agreement = (review_polarity or 0.0) * (1 if side == "positive" else -1 if side == "negative" else 0)
                tally.quotes[side].append((-agreement + len(quote) / 400, quote, review_id))

    def entry(key: str, tally: _AspectTally, side: str, count: int) -> dict[str, Any]:
        quotes = sorted(tally.quotes.get(side, []))
        unique: list[dict[str, Any]] = []
        for _, quote, review_id in quotes:
            if all(quote != q["text"] for q in unique):
                unique.append({"text": quote, "review_id": review_id})
            if len(unique) == 3:
                break
        return {
            "aspect": tally.spellings.most_common(1)[0][0] if tally.spellings else key,
            "key": key,
            "count": count,
            "mentions": tally.mentions,
            "positive_share": round(tally.positive / tally.mentions, 3),
            "negative_share": round(tally.negative / tally.mentions, 3),
            "quotes": unique,
        }

    praised, pains = [], []
    for key, tally in tallies.items():
        if tally.mentions < min_mentions:
            continue
        if tally.positive:
            praised.append(
                (tally.positive * tally.positive / tally.mentions, entry(key, tally, "positive", tally.positive))
            )
        if tally.negative:
            pains.append(
                (tally.negative * tally.negative / tally.mentions, entry(key, tally, "negative", tally.negative))
            )
    praised.sort(key=lambda pair: (-pair[0], pair[1]["aspect"]))
    pains.sort(key=lambda pair: (-pair[0], pair[1]["aspect"]))
    return [e for _, e in praised[:top]], [e for _, e in pains[:top]]


# --- Per product: needs ----------------------------------------------------------------------------------

_NEED_CUES = re.compile(
    r"\b(?:i\s+wish(?:\s+(?:it|they|there))?(?:\s+(?:had|was|were|came|could|would))?|"
    r"wish\s+(?:it|they)\s+(?:had|came\s+with|were)|would\s+(?:be\s+(?:nice|great|better)\s+(?:if|to\s+have)|love\s+(?:it\s+)?if)|"
    r"if\s+only|should\s+(?:have|come\s+with)|needs?\s+(?:a|an|more|better)|missing\s+(?:a|an|the)?|"
    r"hope\s+(?:they|the\s+next)[^.!?]*?(?:add|make|improve))\b\s*(?P<need>[^.!?;\n]{3,120})",
    re.IGNORECASE,
)
_ZH_NEED = re.compile(r"(?:希望|要是|如果)(?P<need>[^。！？；\n]{2,40}?)(?:就好了|就更好了|[。！？；，\n]|$)")


def extract_needs(text: str) -> list[str]:
    """Wishes in a review: "I wish it had a longer cable" -> "a longer cable"."""
    needs = [m.group("need").strip(" ,:-") for m in _NEED_CUES.finditer(text)]
    needs += [m.group("need").strip() for m in _ZH_NEED.finditer(text)]
    return [n for n in needs if len(n) >= 2]


_NEED_STOP = {
    "a",
    "an",
    "the",
    "it",
    "they",
    "had",
    "have",
    "more",
    "better",
    "was",
    "were",
    "to",
    "be",
    "of",
    "and",
    "or",
    "with",
    "that",
    "this",
    "came",
    "come",
    "for",
    "in",
    "on",
    "so",
    "too",
    "would",
}


def _need_key(need: str) -> str:
    words = [w for w in re.findall(r"[\w'-]+", need.lower()) if w not in _NEED_STOP]
    return " ".join(words[:4]) if words else need.lower()


def needs_summary(rows: Sequence[tuple[int, str]], top: int = 6) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for review_id, text in rows:
        for need in extract_needs(text):
            groups[_need_key(need)].append(
                (need, review_id, sentence_around(text, max(0, text.find(need)), max(0, text.find(need)) + len(need)))
            )
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    result = []
    for _, items in ranked[:top]:
        phrases = Counter(need for need, _, _ in items)
        result.append(
            {
                "need": phrases.most_common(1)[0][0],
                "count": len(items),
                "quotes": [{"text": quote, "review_id": rid} for _, rid, quote in items[:3]],
            }
        )
    return result


# --- Per product: topics (clusters labelled by class-based TF-IDF) ---------------------------------------


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
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import CountVectorizer

    k = max(2, min(max_topics, round(math.sqrt(n / 2))))
    labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(embeddings)
    documents = [" ".join(texts[i] for i in range(n) if labels[i] == c) for c in range(k)]
    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=1, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b"
    )
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(float)
    except ValueError:  # no words left (e.g. all Chinese): no labelled topics
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
        words = [str(vocabulary[j]) for j in order[: keywords * 2] if weights[c, j] > 0]
        chosen: list[str] = []
        for word in words:  # skip a unigram already inside a chosen bigram, and vice versa
            if any(word in other or other in word for other in chosen):
                continue
            chosen.append(word)
            if len(chosen) == keywords:
                break
        centroid = embeddings[members].mean(axis=0)
        representative = max(members, key=lambda i: float(np.dot(embeddings[i], centroid)))
        topics.append(
            {
                "label": ", ".join(chosen[:3]),
                "keywords": chosen,
                "size": len(members),
                "example": texts[representative][:240],
            }
        )
    topics.sort(key=lambda t: -t["size"])
    return topics


# --- Per product: everything ------------------------------------------------------------------------------


def _monthly(rows: Sequence[tuple[Any, int | None, str]]) -> list[dict[str, Any]]:
    buckets: dict[str, dict[str, Any]] = {}
    for created, rating, sentiment in rows:
        month = created.strftime("%Y-%m")
        bucket = buckets.setdefault(
            month, {"month": month, "reviews": 0, "ratings": [], "positive": 0, "neutral": 0, "negative": 0}
        )
        bucket["reviews"] += 1
        if rating:
            bucket["ratings"].append(rating)
        if sentiment in (Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE):
            bucket[str(sentiment)] += 1
    result = []
    for month in sorted(buckets):
        bucket = buckets[month]
        ratings = bucket.pop("ratings")
        bucket["rating_average"] = round(sum(ratings) / len(ratings), 2) if ratings else None
        result.append(bucket)
    return result


def compute_product_insights(
    product_ids: Iterable[int] | None = None,
    *,
    progress: Progress | None = None,
    force: bool = False,
    set_total: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Aggregate review insights per product; skip products whose inputs did not change."""
    queryset = Product.objects.filter(reviews__insight__isnull=False).distinct().order_by("pk")
    if product_ids is not None:
        queryset = queryset.filter(pk__in=list(product_ids))
    ids = list(queryset.values_list("pk", flat=True))
    if set_total:
        set_total(len(ids))
    counts = {"computed": 0, "unchanged": 0}
    for product_id in ids:
        counts["computed" if compute_product_insight(product_id, force=force) else "unchanged"] += 1
        if progress:
            progress(1)
    return counts


def compute_product_insight(product_id: int, *, force: bool = False) -> bool:
    rows = list(
        ReviewInsight.objects.filter(review__product_id=product_id)
        .order_by("review_id")
        .values_list(
            "review_id",
            "review__title",
            "review__text",
            "review__rating",
            "review__created_at",
            "sentiment",
            "polarity",
            "aspects",
            "text_hash",
            "embedding",
        )
    )
    source_hash = hashlib.sha256(json.dumps([(r[0], r[8]) for r in rows]).encode()).hexdigest()
    current = ProductInsight.objects.filter(product_id=product_id).first()
    if current is not None and current.source_hash == source_hash and not force:
        return False
    texts = [review_text(r[1], r[2]) for r in rows]
    ratings = [r[3] for r in rows if r[3]]
    praised, pains = aspect_summary([(r[0], texts[i], r[7] or [], r[6]) for i, r in enumerate(rows)])
    with_embeddings = [i for i, r in enumerate(rows) if r[9] is not None]
    topics = (
        topics_from_embeddings(
            [texts[i] for i in with_embeddings], np.array([rows[i][9] for i in with_embeddings], dtype=np.float32)
        )
        if with_embeddings
        else []
    )
    values = {
        "review_count": len(rows),
        "rating_average": round(sum(ratings) / len(ratings), 3) if ratings else None,
        "rating_distribution": {str(star): sum(1 for r in ratings if r == star) for star in range(1, 6)},
        "sentiment_distribution": dict(Counter(r[5] for r in rows if r[5])),
        "sentiment_over_time": _monthly([(r[4], r[3], r[5]) for r in rows]),
        "praised_aspects": praised,
        "pain_points": pains,
        "topics": topics,
        "needs": needs_summary([(r[0], texts[i]) for i, r in enumerate(rows)]),
        "source_hash": source_hash,
        "computed_at": timezone.now(),
    }
    ProductInsight.objects.update_or_create(product_id=product_id, defaults=values)
    return True
