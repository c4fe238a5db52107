"""Sentence embeddings (384-d, L2-normalised) with the packaged all-MiniLM-L6-v2, or any local
sentence-transformers-style folder (a BERT-like encoder; mean pooling over tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from .batching import clean_text, map_batched
from .device import Device, select_device
from .loading import default_embedding_path, unmap_weights
from .metrics import observed
from .progress import OnBatch

MAX_TOKENS = 256  # the model was trained on up to 256 word pieces; longer input is truncated
MIN_SHARE = 0.8  # a batch closes before a text shorter than this share of its longest (little padding)


class Embedder:
    def __init__(self, path: Path | str | None = None, device: Device | None = None) -> None:
        self.path = Path(path) if path else default_embedding_path()
        self.device = device or select_device()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModel.from_pretrained(self.path)
        self.model = unmap_weights(model).to(self.device.torch, dtype=self.device.dtype).eval()
        self.dimensions = int(model.config.hidden_size)
        self.version = f"{self.path.name if self.path.name != 'model' else self.path.parent.name}"

    @observed("embedding")
    def encode(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        on_batch: OnBatch | None = None,
    ) -> np.ndarray:
        """Embed `texts` (any order of lengths) into an (n, dims) float32 array, rows in input order."""
        cleaned = [clean_text(text) for text in texts]
        if not cleaned:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        rows = map_batched(
            cleaned, batch_size or self.device.embed_batch_size, self._encode_batch, on_batch, MIN_SHARE
        )
        return np.stack(rows).astype(np.float32, copy=False)

    @torch.inference_mode()
    def _encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        ).to(self.device.torch)
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        normalised = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
        return list(normalised.cpu().numpy())
