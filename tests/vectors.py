"""Small deterministic vectors for tests that write embeddings directly instead of running a model."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

DIMENSIONS = 384  # the embedding model's width, as the vector columns store it


def basis(i: int, dim: int = DIMENSIONS) -> np.ndarray:
    """The unit vector along axis `i`: products on different axes are unrelated, on one axis identical."""
    vector = np.zeros(dim, dtype=np.float32)
    vector[i] = 1.0
    return vector


def fake_embed(texts: list[str]) -> np.ndarray:
    """A deterministic unit vector per text (hash-seeded), standing in for the embedder."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        vector = np.random.default_rng(seed).normal(size=DIMENSIONS).astype(np.float32)
        rows.append(vector / np.linalg.norm(vector))
    return np.stack(rows) if rows else np.zeros((0, DIMENSIONS), dtype=np.float32)


class FakeEmbedder:
    """Stands in for the embedding model: `fake_embed` vectors, or one `vector` for every text; remembers every
    text it was asked to embed."""

    version = "fake-v1"

    def __init__(self, vector: Sequence[float] | None = None) -> None:
        self.vector = vector
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        if self.vector is not None:
            return np.array([self.vector] * len(texts), dtype=np.float32)
        return fake_embed(list(texts))
