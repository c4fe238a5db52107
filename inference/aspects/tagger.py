"""The aspect tagger at work: a fine-tuned token classifier (O / B-ASP / I-ASP) read over any text, and
its polarity head (`polarity_head`) when it was trained with one.

Long texts are read in overlapping windows of word pieces; each word takes the label of its first piece
from the window where that piece sits farthest from an edge, then `bio.decode_bio` makes term spans. A
mention's polarity is read by the head from the same forward pass, in the window where the mention sits
farthest from an edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..batching import length_sorted_batches
from ..device import Device, select_device
from ..loading import unmap_weights
from ..padding import pad
from ..progress import OnBatch
from .bio import LABELS, O, decode_bio, word_extents
from .polarity import Classify, clause_mentions
from .polarity_head import PolarityHead, load_head, term_positions
from .terms import AspectMention, AspectTerm, Span, as_in, blank_markup, bounded

MAX_TOKENS = 256  # word pieces per window; longer texts are read in overlapping windows
STRIDE = 64  # word pieces shared by neighbouring windows, so no word is judged at a window's edge only
NEUTRAL = "neutral"  # a mention the head cannot place, with no classifier to fall back on
HEAD = "head"  # AspectMention.source of a polarity from the polarity head
HEAD_BATCH = 64  # mentions per head call: each row holds a window's states (256 x 384 floats, 0.4 MB)

_Read = list[tuple[AspectTerm, str | None]]  # terms of one text, with the head's polarity when asked


class AspectTagger:
    """A fine-tuned token tagger loaded from a folder (weights, config with O/B-ASP/I-ASP, fast tokenizer,
    and optionally a polarity head)."""

    model: Any
    tokenizer: Any
    polarity_head: PolarityHead | None

    def __init__(self, path: Path | str, device: Device | None = None) -> None:
        # heavy: transformers loads only when a tagger does
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        self.path = Path(path)
        self.device = device or select_device()
        tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModelForTokenClassification.from_pretrained(self.path)
        head = load_head(self.path)
        if head is not None:
            head = head.to(self.device.torch, dtype=self.device.dtype)
        self._setup(unmap_weights(model).to(self.device.torch, dtype=self.device.dtype).eval(), tokenizer, head)
        self.version = self.path.name

    @classmethod
    def from_model(
        cls, model: Any, tokenizer: Any, device: Device, polarity_head: PolarityHead | None = None
    ) -> AspectTagger:
        """Wrap a model in memory (validation during training) without saving it first."""
        tagger = cls.__new__(cls)
        tagger.path, tagger.device, tagger.version = Path(), device, "in-memory"
        tagger._setup(model, tokenizer, polarity_head)
        return tagger

    def _setup(self, model: Any, tokenizer: Any, polarity_head: PolarityHead | None) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("the aspect tagger needs a fast tokenizer (character offsets of word pieces)")
        names = [str(model.config.id2label[i]) for i in range(int(model.config.num_labels))]
        if names != list(LABELS):
            raise ValueError(f"not an aspect tagger: labels {names}, expected {list(LABELS)}")
        self.model, self.tokenizer, self.polarity_head = model, tokenizer, polarity_head

    @property
    def has_polarity(self) -> bool:
        """Whether this tagger reads polarity itself (trained with a polarity head)."""
        return self.polarity_head is not None

    def extract(
        self, texts: Sequence[str], on_batch: OnBatch | None = None, batch_size: int | None = None
    ) -> list[list[AspectTerm]]:
        """Aspect terms of each text, in input order; any text (empty, huge, markup, other scripts) is
        read without raising."""
        read = self._read_all(texts, None, False, on_batch, batch_size)
        return [[term for term, _ in found] for found in read]

    def extract_with_polarity(
        self,
        texts: Sequence[str],
        fallback: Classify | None = None,
        on_batch: OnBatch | None = None,
        batch_size: int | None = None,
    ) -> list[list[AspectMention]]:
        """Aspect mentions of each text with their polarity, from the head in the same pass as the terms.
        Without a head (a tagger trained before heads, or on a file without polarity), `fallback` (a
        sentiment classifier) reads each term's clause; without either this is an error."""
        if self.polarity_head is None:
            if fallback is None:
                raise ValueError(f"tagger {self.version} has no polarity head: pass a sentiment classifier")
            return clause_mentions(texts, self.extract(texts, on_batch, batch_size), fallback)
        read = self._read_all(texts, None, True, on_batch, batch_size)
        return [self._mentions(text, found, fallback) for text, found in zip(texts, read, strict=True)]

    def span_polarities(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], batch_size: int | None = None
    ) -> list[list[str]]:
        """The head's polarity for given character spans of each text (gold terms, for evaluation)."""
        if self.polarity_head is None:
            raise ValueError(f"tagger {self.version} has no polarity head")
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} span lists")
        read = self._read_all(texts, spans, True, None, batch_size)
        return [[label or NEUTRAL for _, label in found] for found in read]

    def _mentions(self, text: str, found: _Read, fallback: Classify | None) -> list[AspectMention]:
        """Mentions of one text; one the head could not place (no piece in any window: only possible
        for spans of nothing but markup or spaces) falls back to its clause, or neutral."""
        mentions = [AspectMention(term, label, HEAD) for term, label in found if label is not None]
        missing = [term for term, label in found if label is None]
        if missing:
            labels = clause_mentions([text], [missing], fallback)[0] if fallback else [
                AspectMention(term, NEUTRAL, HEAD) for term in missing
            ]
            mentions = sorted([*mentions, *labels], key=lambda m: (m.term.start, m.term.end))
        return mentions

    def _read_all(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]] | None,
        polar: bool,
        on_batch: OnBatch | None,
        batch_size: int | None,
    ) -> list[_Read]:
        """Terms (found, or the given `spans`) of each text, with the head's polarity when `polar`; terms
        are re-read from the caller's text (`as_in`), a term split by markup keeps its polarity per part."""
        originals = [bounded(text) for text in texts]
        prepared = [blank_markup(text) for text in originals]
        results: list[_Read] = [[] for _ in texts]
        for indices in length_sorted_batches(prepared, batch_size or self.device.embed_batch_size):
            given = [list(spans[i]) for i in indices] if spans is not None else None
            for index, found in zip(indices, self._read_batch([prepared[i] for i in indices], given, polar),
                                    strict=True):
                if spans is not None:
                    results[index] = found  # given spans are answered one for one, as given
                    continue
                results[index] = [(part, label) for term, label in found for part in as_in(originals[index], [term])]
            if on_batch is not None:
                on_batch(len(indices))
        return results

    def _read_batch(self, texts: list[str], given: list[list[Span]] | None, polar: bool) -> list[_Read]:
        encoded = self.tokenizer(
            texts,
            truncation=True,
            max_length=MAX_TOKENS,
            stride=STRIDE,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        windows = len(encoded["input_ids"])
        predictions, states = self._run_windows(encoded["input_ids"], self.device.embed_batch_size, polar)
        samples = [int(encoded["overflow_to_sample_mapping"][window]) for window in range(windows)]
        if given is not None:
            terms = [[AspectTerm(text[s:e], s, e) for s, e in spans] for text, spans in zip(texts, given, strict=True)]
        else:
            terms = self._decode(texts, encoded, predictions, samples)
        if not polar:
            return [[(term, None) for term in found] for found in terms]
        labels = self._head_labels(terms, encoded["offset_mapping"], samples, states)
        return [list(zip(found, group, strict=True)) for found, group in zip(terms, labels, strict=True)]

    def _decode(
        self, texts: list[str], encoded: Any, predictions: list[list[int]], samples: list[int]
    ) -> list[list[AspectTerm]]:
        # per text and word: its character extent, and the label of its first piece taken from the
        # window where that piece sits farthest from an edge (a window's edges lack context)
        extents: list[dict[int, list[int]]] = [{} for _ in texts]
        first_piece: list[dict[int, tuple[int, int, int]]] = [{} for _ in texts]  # word -> (start, depth, label)
        for window, sample in enumerate(samples):
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

    def _head_labels(
        self,
        terms: list[list[AspectTerm]],
        offsets: Sequence[Sequence[Sequence[int]]],
        samples: list[int],
        states: list[torch.Tensor],
    ) -> list[list[str | None]]:
        """The head's label per term: read in the window of its text where the term's pieces sit
        farthest from an edge; None for a term with no piece in any window."""
        windows_of: dict[int, list[int]] = {}
        for window, sample in enumerate(samples):
            windows_of.setdefault(sample, []).append(window)
        rows: list[tuple[int, int, list[int]]] = []  # (sample, term index, window) with the term's pieces
        where: list[int] = []
        for sample, found in enumerate(terms):
            for index, term in enumerate(found):
                best: tuple[int, int, list[int]] | None = None  # (depth, window, positions)
                for window in windows_of.get(sample, []):
                    positions = term_positions(offsets[window], term.start, term.end)
                    if not positions:
                        continue
                    length = len(offsets[window])
                    depth = min(min(p, length - 1 - p) for p in positions)
                    if best is None or depth > best[0]:
                        best = (depth, window, positions)
                if best is not None:
                    rows.append((sample, index, best[2]))
                    where.append(best[1])
        labels: list[list[str | None]] = [[None] * len(found) for found in terms]
        head = self.polarity_head
        assert head is not None
        for begin in range(0, len(rows), HEAD_BATCH):
            chunk = range(begin, min(begin + HEAD_BATCH, len(rows)))
            width = max(states[where[i]].shape[0] for i in chunk)
            batch = torch.zeros((len(chunk), width, head.hidden), dtype=states[where[0]].dtype)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            term_mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                window_states = states[where[i]]
                batch[row, : window_states.shape[0]] = window_states
                mask[row, : window_states.shape[0]] = 1
                term_mask[row, rows[i][2]] = 1
            with torch.inference_mode():
                logits = head(batch.to(self.device.torch), mask.to(self.device.torch), term_mask.to(self.device.torch))
            for row, choice in zip(chunk, logits.argmax(dim=-1).cpu().tolist(), strict=True):
                sample, index, _ = rows[row]
                labels[sample][index] = head.labels[int(choice)]
        return labels

    @torch.inference_mode()
    def _run_windows(
        self, input_ids: Sequence[Sequence[int]], batch_size: int, keep_states: bool
    ) -> tuple[list[list[int]], list[torch.Tensor]]:
        """Argmax label per word piece of each window, and (when `keep_states`) the encoder's last
        states of its pieces (the head's input); windows batched by length to keep padding small."""
        labels_out: list[list[int]] = [[] for _ in input_ids]
        states_out: list[torch.Tensor] = [torch.empty(0) for _ in input_ids] if keep_states else []
        for chunk in length_sorted_batches(input_ids, batch_size):
            ids, mask = pad([input_ids[i] for i in chunk], int(self.tokenizer.pad_token_id or 0))
            extra = {"output_hidden_states": True} if keep_states else {}
            output = self.model(input_ids=ids.to(self.device.torch), attention_mask=mask.to(self.device.torch), **extra)
            labels = output.logits.argmax(dim=-1).cpu().tolist()
            for row, index in enumerate(chunk):
                labels_out[index] = labels[row][: len(input_ids[index])]
                if keep_states:
                    states_out[index] = output.hidden_states[-1][row, : len(input_ids[index])].cpu()
        return labels_out, states_out
