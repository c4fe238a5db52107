"""The aspect tagger at work: a fine-tuned token classifier (O / B-ASP / I-ASP) read over any text.

Long texts are read in overlapping windows of word pieces; each word takes the label of its first piece
from the window where that piece sits farthest from an edge, then `bio.decode_bio` makes term spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..batching import length_sorted_batches, map_batched
from ..device import Device, select_device
from ..loading import unmap_weights
from ..padding import pad
from ..progress import OnBatch
from .bio import LABELS, O, decode_bio, word_extents
from .terms import AspectTerm, as_in, blank_markup, bounded

MAX_TOKENS = 256  # word pieces per window; longer texts are read in overlapping windows
STRIDE = 64  # word pieces shared by neighbouring windows, so no word is judged at a window's edge only


class AspectTagger:
    """A fine-tuned token tagger loaded from a folder (weights, config with O/B-ASP/I-ASP, fast tokenizer)."""

    model: Any
    tokenizer: Any

    def __init__(self, path: Path | str, device: Device | None = None) -> None:
        # heavy: transformers loads only when a tagger does
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        self.path = Path(path)
        self.device = device or select_device()
        tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModelForTokenClassification.from_pretrained(self.path)
        self._setup(unmap_weights(model).to(self.device.torch, dtype=self.device.dtype).eval(), tokenizer)
        self.version = self.path.name

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, device: Device) -> AspectTagger:
        """Wrap a model in memory (validation during training) without saving it first."""
        tagger = cls.__new__(cls)
        tagger.path, tagger.device, tagger.version = Path(), device, "in-memory"
        tagger._setup(model, tokenizer)
        return tagger

    def _setup(self, model: Any, tokenizer: Any) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("the aspect tagger needs a fast tokenizer (character offsets of word pieces)")
        names = [str(model.config.id2label[i]) for i in range(int(model.config.num_labels))]
        if names != list(LABELS):
            raise ValueError(f"not an aspect tagger: labels {names}, expected {list(LABELS)}")
        self.model, self.tokenizer = model, tokenizer

    def extract(
        self, texts: Sequence[str], on_batch: OnBatch | None = None, batch_size: int | None = None
    ) -> list[list[AspectTerm]]:
        """Aspect terms of each text, in input order; any text (empty, huge, markup, other scripts) is
        read without raising."""
        originals = [bounded(text) for text in texts]
        prepared = [blank_markup(text) for text in originals]
        found = map_batched(prepared, batch_size or self.device.embed_batch_size, self._extract_batch, on_batch)
        return [as_in(text, terms) for text, terms in zip(originals, found, strict=True)]

    def _extract_batch(self, texts: list[str]) -> list[list[AspectTerm]]:
        encoded = self.tokenizer(
            texts,
            truncation=True,
            max_length=MAX_TOKENS,
            stride=STRIDE,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        windows = len(encoded["input_ids"])
        predictions = self._predict_windows(encoded["input_ids"], self.device.embed_batch_size)
        # per text and word: its character extent, and the label of its first piece taken from the
        # window where that piece sits farthest from an edge (a window's edges lack context)
        extents: list[dict[int, list[int]]] = [{} for _ in texts]
        first_piece: list[dict[int, tuple[int, int, int]]] = [{} for _ in texts]  # word -> (start, depth, label)
        for window in range(windows):
            sample = int(encoded["overflow_to_sample_mapping"][window])
            word_ids = encoded.word_ids(window)
            offsets = encoded["offset_mapping"][window]
            length = len(word_ids)
            for word, (start, end) in word_extents(word_ids, offsets).items():
                extent = extents[sample].setdefault(word, [start, end])
                extent[0], extent[1] = min(extent[0], start), max(extent[1], end)
            for position, word in enumerate(word_ids):
                start, end = offsets[position]
                if word is None or end <= start:
                    continue
                depth = min(position, length - 1 - position)
                label = int(predictions[window][position])
                known = first_piece[sample].get(word)
                if known is None or start < known[0] or (start == known[0] and depth > known[1]):
                    first_piece[sample][word] = (start, depth, label)
        results = []
        for sample, text in enumerate(texts):
            order = sorted(extents[sample])
            words = [(extents[sample][w][0], extents[sample][w][1]) for w in order]
            labels = [first_piece[sample][w][2] if first_piece[sample][w][0] == words[i][0] else O
                      for i, w in enumerate(order)]
            results.append(decode_bio(text, words, labels))
        return results

    @torch.inference_mode()
    def _predict_windows(self, input_ids: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
        """Argmax label per word piece of each window, windows batched by length to keep padding small."""
        results: list[list[int]] = [[] for _ in input_ids]
        for chunk in length_sorted_batches(input_ids, batch_size):
            ids, mask = pad([input_ids[i] for i in chunk], int(self.tokenizer.pad_token_id or 0))
            logits = self.model(input_ids=ids.to(self.device.torch), attention_mask=mask.to(self.device.torch)).logits
            labels = logits.argmax(dim=-1).cpu().tolist()
            for row, index in enumerate(chunk):
                results[index] = labels[row][: len(input_ids[index])]
        return results
