"""What a customer is interested in, in words: top categories (every level of the path), brands, and keywords
from their searches and the titles of the products they engaged with, weighted by the events' decayed
weights (the same weights as the profile vector, `customers/behaviour.py`).

Computed for a batch of customers at once: each product and query is a sparse row of terms (its category
paths, its brand, its distinct title or query keywords), read once per run (`InterestTerms`), and the
customers' term weights are one sparse product of their (customer x product) weights with those rows. Only
the ranking of each customer's few terms is done per customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from catalog.models import Product
from core.vector_rows import fetch_binary

from .event_weights import BatchWeights

TOP_CATEGORIES = 10
TOP_BRANDS = 8
TOP_KEYWORDS = 15

_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]{2,}", re.UNICODE)
_STOP = {
    "and", "the", "for", "with", "from", "you", "your", "our", "set", "pack", "new", "size", "inch", "cm", "mm",
    "pcs", "piece", "pieces", "of", "in", "on", "to", "by", "or", "a", "an", "is", "it", "my", "me", "x",
}


def keywords(text: str) -> list[str]:
    """Lower-cased words of at least 3 letters, without stop words or numbers: what interests are named by."""
    # sklearn is heavy to import and only profile runs and segment labels need its stop words
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (w.lower().strip("'-") for w in _WORD.findall(text or ""))
    return [w for w in words if len(w) >= 3 and w not in _STOP and w not in ENGLISH_STOP_WORDS]


def category_paths(category: str) -> list[str]:
    """Every level of a category path, from the top down: "A > B" -> ["A", "A > B"]."""
    levels = [part.strip() for part in category.split(">") if part.strip()]
    return [" > ".join(levels[: i + 1]) for i in range(len(levels))]


class _Vocabulary:
    """Term names and their column ids, growing as products and queries are read."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def id(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found

    def ranked_names(self) -> np.ndarray:
        """Each term's place in name order (the last tie-break of the ranking)."""
        place = np.empty(len(self.names), dtype=np.int64)
        place[sorted(range(len(self.names)), key=self.names.__getitem__)] = np.arange(len(self.names))
        return place


class InterestTerms:
    """The terms of every product and query seen in one run (one query per batch for new products)."""

    def __init__(self) -> None:
        self.categories, self.brands, self.words = _Vocabulary(), _Vocabulary(), _Vocabulary()
        self._products: dict[int, tuple[list[int], list[int], list[int]]] = {}
        self._queries: dict[str, list[int]] = {}

    def load_products(self, ids: Iterable[int]) -> None:
        missing = sorted({int(pk) for pk in ids} - self._products.keys())
        if not missing:
            return
        table = Product._meta.db_table
        for pk, title, category, brand in fetch_binary(
            f"SELECT id, title, category, brand FROM {table} WHERE id = ANY(%s)", [missing]
        ):
            brand = brand.strip()
            self._products[pk] = (
                [self.categories.id(path) for path in category_paths(category)],
                [self.brands.id(brand)] if brand else [],
                [self.words.id(word) for word in dict.fromkeys(keywords(title))],
            )

    def _query_words(self, query: str) -> list[int]:
        found = self._queries.get(query)
        if found is None:
            found = self._queries[query] = [self.words.id(word) for word in dict.fromkeys(keywords(query))]
        return found

    def interests(self, customer_ids: Sequence[int], weights: BatchWeights) -> dict[int, dict[str, Any]]:
        """Top categories (every level of the path), brands and keywords per customer, as shares of their
        decayed activity (category and brand shares of product events; keyword shares of all keyword mass)."""
        n = len(customer_ids)
        self.load_products(weights.products.tolist())
        columns, column_of = np.unique(weights.products, return_inverse=True)
        by_product = sparse.csr_matrix(
            (weights.product_weights, (weights.product_rows, column_of.reshape(-1))), shape=(n, len(columns))
        )
        facts = [self._products[int(pk)] for pk in columns]
        queries = sorted(set(weights.queries))
        query_column = {q: i for i, q in enumerate(queries)}
        by_query = sparse.csr_matrix(
            (weights.search_weights, (weights.search_rows, [query_column[q] for q in weights.queries])),
            shape=(n, len(queries)),
        )
        query_words = [self._query_words(q) for q in queries]  # first: they may add words to the vocabulary
        category_mass = by_product @ _terms([f[0] for f in facts], len(self.categories.names))
        brand_mass = by_product @ _terms([f[1] for f in facts], len(self.brands.names))
        width = len(self.words.names)
        word_mass = by_product @ _terms([f[2] for f in facts], width) + by_query @ _terms(query_words, width)
        totals = np.asarray(by_product.sum(axis=1)).reshape(-1)
        word_totals = np.asarray(word_mass.sum(axis=1)).reshape(-1)
        categories = _top(category_mass, totals, TOP_CATEGORIES, self.categories)
        brands = _top(brand_mass, totals, TOP_BRANDS, self.brands)
        words = _top(word_mass, word_totals, TOP_KEYWORDS, self.words)
        return {
            cid: {"categories": categories[i], "brands": brands[i], "keywords": words[i]}
            for i, cid in enumerate(customer_ids)
        }


def _terms(rows: list[list[int]], width: int) -> sparse.csr_matrix:
    """A 0/1 matrix with one row per product or query and a 1 in the column of each of its terms."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter((t for r in rows for t in r), dtype=np.int64, count=int(indptr[-1]))
    return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), width))


def _top(mass: sparse.spmatrix, totals: np.ndarray, limit: int, vocabulary: _Vocabulary) -> list[list[list[Any]]]:
    """Per customer row: the `limit` heaviest terms as [name, share of total rounded to 4 places]. Weights
    equal to 9 places are ties (a customer who only shops one leaf has every level at the same weight): the
    deeper category first, then by name. One sort of every row's terms at once."""
    matrix = sparse.csr_matrix(mass)
    matrix.sum_duplicates()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    depth = np.array([name.count(">") for name in vocabulary.names], dtype=np.int64)
    order = np.lexsort(
        (vocabulary.ranked_names()[matrix.indices], -depth[matrix.indices], -np.round(matrix.data, 9), rows)
    )
    place = np.arange(len(order)) - matrix.indptr[rows[order]]
    kept = order[(place < limit) & (totals[rows[order]] > 0)]
    shares = np.round(matrix.data[kept] / totals[rows[kept]], 4)
    result: list[list[list[Any]]] = [[] for _ in range(matrix.shape[0])]
    names = vocabulary.names
    for row, term, share in zip(rows[kept].tolist(), matrix.indices[kept].tolist(), shares.tolist(), strict=True):
        result[row].append([names[term], share])
    return result
