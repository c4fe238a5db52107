"""One encoder pass shared by every step that reads the same text with the same embedder.

Review analysis embeds a chunk's texts, and the prototype sentiment classifier reads the same texts (then
the aspects' clauses) through the same encoder. A `SharedPass` encodes each distinct text once and hands
the same vector to every step that asks. Pure numpy (no torch, no transformers): callers that only pass it
along stay light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .batching import clean_text
from .progress import OnBatch


class Encoder(Protocol):
    """What `inference.embedding.Embedder` offers and a shared pass needs."""

    version: str
    dimensions: int

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, on_batch: OnBatch | None = None
    ) -> np.ndarray: ...


class SharedPass:
    """The vectors of one embedder for the texts of one unit of work (a chunk of reviews), keyed by the text
    the encoder reads (after `clean_text`, as `Embedder.encode` cleans it). Texts not met before are
    encoded in one length-sorted call per `encode`; hold one per chunk, since it keeps every vector."""

    def __init__(self, embedder: Encoder) -> None:
        self.embedder = embedder
        self.version = embedder.version
        self.dimensions = embedder.dimensions
        self._vectors: dict[str, np.ndarray] = {}

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, on_batch: OnBatch | None = None
    ) -> np.ndarray:
        """Like `Embedder.encode` (an (n, dims) float32 array, rows in input order); a text read before in
        this pass, or twice in `texts`, is encoded once."""
        cleaned = [clean_text(text) for text in texts]
        missing = list(dict.fromkeys(text for text in cleaned if text not in self._vectors))
        if missing:
            vectors = self.embedder.encode(missing, batch_size, on_batch)
            self._vectors.update(zip(missing, vectors, strict=True))
        if not cleaned:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._vectors[text] for text in cleaned]).astype(np.float32, copy=False)
