"""Search queries as vectors: one function and one bounded cache for everything that embeds them.

Profiles fold a customer's searches into their vector; live ranking embeds a cold customer's recent
searches. Shoppers repeat queries, so vectors are kept per process in a least-recently-used cache of
CACHE_SIZE entries (384 float32 each: about 30 MB when full). The cache belongs to one encoder: asking with
another (a test's fake embedder, a new embedding model after `inference.registry.clear()`) empties it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from inference import registry

EmbedTexts = Callable[[list[str]], np.ndarray]

CACHE_SIZE = 20_000

_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_owner: list[EmbedTexts | None] = [None]  # the encoder the cached vectors came from


def embed_queries(queries: Sequence[str], embed_texts: EmbedTexts | None = None) -> np.ndarray:
    """The queries' vectors, (len(queries), dims) float32 in input order; the text is embedded as given.

    `embed_texts` embeds a list of texts (default: the shop's embedding model).
    """
    encode = embed_texts or registry.embedder().encode
    found: dict[str, np.ndarray] = {}
    with _lock:
        if _owner[0] != encode:
            _cache.clear()
            _owner[0] = encode
        for query in queries:
            if query in _cache:
                _cache.move_to_end(query)
                found[query] = _cache[query]
    missing = sorted({q for q in queries if q not in found})
    if missing:
        vectors = np.asarray(encode(missing), dtype=np.float32)
        found.update(zip(missing, vectors, strict=True))
        with _lock:
            if _owner[0] == encode:
                for query in missing:
                    _cache[query] = found[query]
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
    if not queries:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[q] for q in queries]).astype(np.float32, copy=False)


def forget_queries() -> None:
    """Empty the cache (tests, or to free memory)."""
    with _lock:
        _cache.clear()
        _owner[0] = None
