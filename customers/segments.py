"""Behavioural segments: customers grouped by their profile vectors, each named by what sets it apart.

Clustering: KMeans (MiniBatchKMeans above MINIBATCH_ABOVE profiles, for choosing k too) on the unit profile
vectors, with k chosen in K_RANGE by the silhouette (cosine) on a fixed-seed sample, so the same data always
gives the same segments; one OpenMP thread per fit (`FIT_THREADS`). Labels: the members' interests
(categories at every level, keywords) summed per cluster and weighted by class-based TF-IDF (as BERTopic
does): a term counts when it is frequent in the cluster and rare in the others, so "Home" does not name
every segment. Name: the most distinctive category's
last level and the most distinctive keyword not already in it, e.g. "Mugs & ceramic".

Stable keys: new clusters are matched to the previous active behavioural segments by centroid cosine
similarity (Hungarian assignment, at least MATCH_SIMILARITY); a matched cluster keeps the old key, so a
campaign that targets it keeps its audience. Old segments left unmatched become inactive. Each rebuild is
recorded as a `ModelVersion` (role `segments`) with its parameters and silhouette scores.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.model_versions import activate, record_version
from catalog.models import ModelRole, Product
from core.collector import cycle_collection_paused
from core.progress import NO_PROGRESS, Progress
from core.vector_rows import fetch_binary, vector_from_binary

from .interests import keywords
from .models import CustomerProfile, Segment

logger = logging.getLogger(__name__)

K_RANGE = range(3, 11)  # a handful of audiences a marketer can tell apart
SEED = 42
MIN_PROFILES = 20  # fewer than this: no clustering (the segments would be noise)
FIT_SAMPLE = 20_000  # profiles used to choose k (each candidate k is fitted on them)
SILHOUETTE_SAMPLE = 3_000  # silhouette is O(n^2): measured on a sample
MINIBATCH_ABOVE = 20_000
MATCH_SIMILARITY = 0.8  # cosine between centroids for a new cluster to inherit an old segment's key
TOP_TERMS = 8
KEY_PREFIX = "behaviour-"
FIT_THREADS = 1  # OpenMP threads per fit: a worker shares its cores with other processes, and with two
# threads on two busy cores a fit on 20,000 profiles took 5.0 s against 0.9 s with one


def _load_vectors() -> tuple[list[int], np.ndarray, list[dict[str, Any]]]:
    """Every profile with a vector, in customer order: ids, (n, 384) float32, interests. One binary read
    (parsing 100,000 vectors from text took a minute), with the cycle collector paused while 100,000
    interests become Python lists."""
    with cycle_collection_paused():
        rows = fetch_binary(
            f"""SELECT customer_id, vector, interests FROM {CustomerProfile._meta.db_table}
                WHERE vector IS NOT NULL ORDER BY customer_id""",
            [],
        )
        ids = [row[0] for row in rows]
        vectors = [vector_from_binary(row[1]) for row in rows]
        interests = [row[2] or {} for row in rows]
    matrix = np.stack(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)  # type: ignore[arg-type]
    return ids, matrix, interests


def _fit(vectors: np.ndarray, k: int, *, minibatch: bool) -> Any:
    # sklearn is heavy to import: loaded when segments are rebuilt, not with the app
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=FIT_THREADS):
        if minibatch:
            return MiniBatchKMeans(n_clusters=k, random_state=SEED, n_init=3, batch_size=4096).fit(vectors)
        return KMeans(n_clusters=k, random_state=SEED, n_init=4).fit(vectors)


def choose_k(vectors: np.ndarray) -> tuple[int, dict[int, float]]:
    """The k in K_RANGE with the best silhouette (cosine) on a fixed sample; returns k and every score."""
    from sklearn.metrics import silhouette_score  # heavy: loaded only when segments are rebuilt
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(SEED)
    sample = vectors if len(vectors) <= FIT_SAMPLE else vectors[rng.choice(len(vectors), FIT_SAMPLE, replace=False)]
    scores: dict[int, float] = {}
    with threadpool_limits(limits=FIT_THREADS):  # silhouette's distances too
        for k in K_RANGE:
            if k >= len(sample):
                break
            # the estimator of the final fit: with full KMeans on the 20,000-profile sample, choosing k took 62 s
            labels = _fit(sample, k, minibatch=len(vectors) > MINIBATCH_ABOVE).labels_
            if len(set(labels)) < 2:
                continue
            scores[k] = float(
                silhouette_score(
                    sample, labels, metric="cosine", sample_size=min(SILHOUETTE_SAMPLE, len(sample)), random_state=SEED
                )
            )
    if not scores:
        return min(K_RANGE), {}
    best = max(scores, key=lambda k: (round(scores[k], 4), -k))  # ties: the fewer, larger segments
    return best, scores


def _class_tfidf(per_cluster: list[dict[str, float]]) -> list[list[tuple[str, float]]]:
    """c-TF-IDF: tf of a term in its cluster (normalised by the cluster's mass) x log(1 + A / f_t), with
    f_t the term's mass over all clusters and A the average mass per cluster."""
    totals = [sum(terms.values()) for terms in per_cluster]
    overall: dict[str, float] = defaultdict(float)
    for terms in per_cluster:
        for term, weight in terms.items():
            overall[term] += weight
    average = sum(totals) / max(1, len(per_cluster))
    ranked = []
    for terms, total in zip(per_cluster, totals, strict=True):
        scored = {
            term: (weight / total) * math.log(1 + average / overall[term]) for term, weight in terms.items() if total
        }
        # ties (every level of a path a cluster shops in alone): the deeper, more specific category first
        ranked.append(
            sorted(scored.items(), key=lambda item: (-round(item[1], 9), -item[0].count(">"), item[0]))[:TOP_TERMS]
        )
    return ranked


def _forms(word: str) -> set[str]:
    """The word with its simple plural and singular forms (dress/dresses, battery/batteries)."""
    word = word.lower()
    forms = {word, word + "s", word + "es"}
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    for suffix in ("es", "s"):
        if word.endswith(suffix):
            forms.add(word[: -len(suffix)])
    return forms


def _name(
    categories: list[tuple[str, float]], words: list[tuple[str, float]], taken_names: set[str], brand_words: set[str]
) -> str:
    """"<category> & <keyword>": the most specific category scoring within 10% of the best (the levels of
    one path score alike), and the most distinctive keyword that is neither in it nor a brand name;
    a later keyword when the name is already taken."""
    category = ""
    if categories:
        best = categories[0][1]
        close = [name for name, score in categories if score >= 0.9 * best]
        category = max(close, key=lambda name: name.count(">")).split(">")[-1].strip()
    in_category = {form for w in category.replace("&", " ").split() for form in _forms(w)}
    candidates = [w for w, _ in words if w.lower() not in in_category and w.lower() not in brand_words]
    options = [f"{category} & {w}" if category else w.capitalize() for w in candidates]
    options.append(category or "Mixed interests")
    for option in options:
        if option.lower() not in taken_names:
            taken_names.add(option.lower())
            return option
    return options[0]


def _brand_words() -> set[str]:
    brands = Product.objects.exclude(brand="").values_list("brand", flat=True).distinct()
    return {word for brand in brands for word in keywords(brand)}


def label_clusters(labels: np.ndarray, interests: Sequence[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Per cluster: top distinctive categories and keywords (with c-TF-IDF weights) and a readable name."""
    categories: list[dict[str, float]] = [defaultdict(float) for _ in range(k)]
    words: list[dict[str, float]] = [defaultdict(float) for _ in range(k)]
    for label, interest in zip(labels, interests, strict=True):
        for name, weight in interest.get("categories", []):
            categories[int(label)][name] += float(weight)
        for name, weight in interest.get("keywords", []):
            words[int(label)][name] += float(weight)
    top_categories = _class_tfidf(categories)
    top_words = _class_tfidf(words)
    result = []
    names: set[str] = set()
    brand_words = _brand_words()
    for c in range(k):
        result.append(
            {
                "name": _name(top_categories[c], top_words[c], names, brand_words),
                "top_categories": [[name, round(weight, 4)] for name, weight in top_categories[c]],
                "top_keywords": [[name, round(weight, 4)] for name, weight in top_words[c]],
            }
        )
    return result


def _match_old(centroids: np.ndarray, old: list[Segment]) -> dict[int, Segment]:
    """New cluster index -> old segment, by maximum total centroid similarity above MATCH_SIMILARITY."""
    from scipy.optimize import linear_sum_assignment  # heavy: loaded only when segments are rebuilt

    old = [s for s in old if s.centroid is not None]
    if not old:
        return {}
    old_matrix = np.stack([np.asarray(s.centroid, dtype=np.float64) for s in old])
    old_matrix /= np.linalg.norm(old_matrix, axis=1, keepdims=True).clip(min=1e-12)
    new = centroids / np.linalg.norm(centroids, axis=1, keepdims=True).clip(min=1e-12)
    similarity = new @ old_matrix.T
    rows, cols = linear_sum_assignment(-similarity)
    return {int(r): old[c] for r, c in zip(rows, cols, strict=True) if similarity[r, c] >= MATCH_SIMILARITY}


def _unique_key(name: str, used: set[str]) -> str:
    base = f"{KEY_PREFIX}{slugify(name)[:50] or 'segment'}"
    key, n = base, 2
    while key in used:
        key, n = f"{base}-{n}", n + 1
    used.add(key)
    return key


def rebuild_segments(
    *, now: datetime | None = None, job_id: int | None = None, progress: Progress = NO_PROGRESS
) -> dict[str, Any]:
    """Cluster the profile vectors into behavioural segments, label, size and store them."""
    now = now or timezone.now()
    ids, vectors, interests = _load_vectors()
    if len(ids) < MIN_PROFILES:
        return {"segments": 0, "profiles": len(ids), "skipped": f"fewer than {MIN_PROFILES} profiles with a vector"}
    k, scores = choose_k(vectors)
    model = _fit(vectors, k, minibatch=len(vectors) > MINIBATCH_ABOVE)
    labels = np.asarray(model.labels_)
    centroids = np.asarray(model.cluster_centers_, dtype=np.float64)
    described = label_clusters(labels, interests, k)
    sizes = np.bincount(labels, minlength=k)
    version = record_version(
        ModelRole.SEGMENTS,
        f"kmeans-k{k}-{now:%Y%m%d-%H%M%S}",
        base_model="sklearn " + type(model).__name__,
        params={"k": k, "k_range": [min(K_RANGE), max(K_RANGE)], "seed": SEED, "profiles": len(ids),
                "silhouette_sample": SILHOUETTE_SAMPLE, "fit_sample": FIT_SAMPLE},
        metrics={"silhouette": scores.get(k), "silhouette_by_k": {str(key): v for key, v in scores.items()}},
        job_id=job_id,
    )
    with transaction.atomic():
        old = list(Segment.objects.select_for_update().filter(kind=Segment.Kind.BEHAVIOURAL, is_active=True))
        matched = _match_old(centroids, old)
        used = set(Segment.objects.values_list("key", flat=True))
        segment_ids: list[int] = []
        for c in range(k):
            fields = {
                "kind": Segment.Kind.BEHAVIOURAL,
                "name": described[c]["name"],
                "description": f"{int(sizes[c])} customers clustered by their profile vectors.",
                "size": int(sizes[c]),
                "top_categories": described[c]["top_categories"],
                "top_keywords": described[c]["top_keywords"],
                "centroid": centroids[c].astype(np.float32),
                "model_version": version,
                "is_active": True,
                "updated_at": now,
            }
            if c in matched:
                segment = matched[c]
                Segment.objects.filter(pk=segment.pk).update(**fields)
            else:
                segment = Segment.objects.create(key=_unique_key(described[c]["name"], used), **fields)
            segment_ids.append(segment.pk)
        kept = set(segment_ids)
        retired = [s.pk for s in old if s.pk not in kept]
        Segment.objects.filter(pk__in=retired).update(is_active=False, size=0, updated_at=now)
        table = CustomerProfile._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET behaviour_segment_id = NULL WHERE behaviour_segment_id IS NOT NULL")
            cursor.execute(
                f"""UPDATE {table} p SET behaviour_segment_id = d.segment
                    FROM unnest(%s::bigint[], %s::bigint[]) AS d(cid, segment) WHERE p.customer_id = d.cid""",
                [ids, [segment_ids[int(label)] for label in labels]],
            )
    activate(version)
    progress.advance(len(ids))
    return {
        "segments": k,
        "profiles": len(ids),
        "silhouette": scores.get(k),
        "retired": len(retired),
        "kept_keys": sum(1 for c in range(k) if c in matched),
        "model_version": version.pk,
    }
