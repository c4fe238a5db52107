"""Review sentiment (negative / neutral / positive): a fine-tuned encoder, or labelled prototypes.

No sentiment classifier ships in any package we may install, so the model is trained on the shop's
own rated reviews (1-2 stars negative, 3 neutral, 4-5 positive) by fine-tuning the packaged MiniLM
encoder end to end with a classification head: a linear head on frozen embeddings transferred worse
than a lexicon (DESIGN.md). Until a shop has enough ratings, `PrototypeSentiment` classifies by
similarity to labelled example sentences (`sentiment_prototypes.py`).

Both classifiers share one interface (`SentimentClassifier`): `version` and `predict(texts)`, batched
by length, any input text accepted (empty, huge, markup, mixed languages) without raising.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from .batching import clean_text, map_batched
from .device import Device, select_device
from .loading import default_embedding_path, unmap_weights

LABELS = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = LABELS
META_FILE = "sentiment.json"  # labels, priors, logit bias and training metadata beside the weights
DEFAULT_MAX_LENGTH = 128  # word pieces; nearly all reviews fit, and attention cost grows with the square
MAX_CHARS = 4_000  # characters kept per text before tokenising: far beyond 128 word pieces, bounds the work

OnBatch = Callable[[int], None]
Progress = Callable[[int, int], None]  # (batches done, batches in total) while training


def rating_to_label(rating: object) -> str | None:
    """1-2 stars negative, 3 neutral, 4-5 positive; anything else (None, 0, 7, "abc") is no label."""
    try:
        value = float(str(rating).strip())
    except (TypeError, ValueError):
        return None
    if not value.is_integer() or not 1 <= value <= 5:
        return None
    return NEGATIVE if value <= 2 else NEUTRAL if value == 3 else POSITIVE


def review_text(title: object, text: object) -> str:
    """The text a review is classified on: its title, then its body. Titles ("Runs small", "Love it!")
    carry much of the sentiment, so training and scoring must join them the same way."""
    head, body = clean_text(title), clean_text(text)
    if head and body:
        return f"{head}{'' if head[-1] in '.!?。！？' else '.'} {body}"
    return head or body


_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]{0,500}|!--[^<>]{0,500}--)>")  # tags and comments, not "a < b"


def prepare_text(text: object) -> str:
    """What the model reads: normalised text without HTML tags or entities, bounded in length."""
    value = clean_text(text, max_chars=MAX_CHARS * 2)
    if "<" in value or "&" in value:
        value = " ".join(html.unescape(_TAG.sub(" ", value)).split())
    return value[:MAX_CHARS]


@dataclass(frozen=True)
class SentimentPrediction:
    label: str
    score: float  # probability of `label`, 0-1
    probs: dict[str, float]

    @property
    def polarity(self) -> float:
        """P(positive) - P(negative): a signed strength, -1 to 1, that sorts reviews by sentiment."""
        return self.probs.get(POSITIVE, 0.0) - self.probs.get(NEGATIVE, 0.0)

    @classmethod
    def from_probs(cls, probs: Mapping[str, float]) -> SentimentPrediction:
        clean = {label: float(probs.get(label, 0.0)) for label in LABELS}
        label = max(LABELS, key=lambda name: clean[name])
        return cls(label, clean[label], clean)


# Nothing to read: neutral, and no more confident than a coin with three sides.
EMPTY_PREDICTION = SentimentPrediction(NEUTRAL, 1 / 3, {label: 1 / 3 for label in LABELS})


@runtime_checkable
class SentimentClassifier(Protocol):
    """What the rest of the platform uses: a version to record with outputs, and batched prediction."""

    version: str

    def predict(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[SentimentPrediction]:
        """One prediction per text, in input order; `on_batch(n)` after each batch of n texts."""
        ...


def _split_empty(texts: Sequence[object]) -> tuple[list[str], list[int]]:
    prepared = [prepare_text(text) for text in texts]
    return prepared, [i for i, text in enumerate(prepared) if text]


# --- Prior correction ----------------------------------------------------------------------------------

def class_prior(labels: Sequence[str]) -> dict[str, float]:
    counts = Counter(labels)
    total = sum(counts.values()) or 1
    return {label: counts.get(label, 0) / total for label in LABELS}


def prior_logit_bias(train_prior: Mapping[str, float], target_prior: Mapping[str, float] | None = None) -> list[float]:
    """Logit adjustment from the prior the model was trained under to the one it should assume.

    A classifier trained on data with class prior q(y) estimates p(y|x) ∝ p(x|y) q(y); adding
    log t(y) - log q(y) to its logits turns that into p(x|y) t(y), the posterior under prior t
    (uniform by default: no class favoured for being frequent in training). A class absent from
    training (binary labels: no neutral) gets no adjustment.
    """
    target = target_prior or {label: 1 / len(LABELS) for label in LABELS}
    bias = []
    for label in LABELS:
        q, t = float(train_prior.get(label, 0.0)), float(target.get(label, 0.0))
        bias.append(math.log(t) - math.log(q) if q > 0 and t > 0 else 0.0)
    mean = sum(bias) / len(bias)
    return [round(b - mean, 6) for b in bias]  # a shared constant changes nothing after softmax


# --- Metrics -------------------------------------------------------------------------------------------

def _macro_f1(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> tuple[float, dict[str, float]]:
    scores = {}
    for label in labels:
        tp = sum(1 for t, p in zip(true, pred, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(true, pred, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(true, pred, strict=True) if t == label and p != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return (sum(scores.values()) / len(scores) if scores else 0.0), scores


def binary_label(prediction: SentimentPrediction) -> str:
    """Positive or negative only: the larger of P(positive) and P(negative), ignoring neutral."""
    return POSITIVE if prediction.probs.get(POSITIVE, 0) >= prediction.probs.get(NEGATIVE, 0) else NEGATIVE


def sentiment_metrics(true: Sequence[str], predictions: Sequence[SentimentPrediction]) -> dict[str, Any]:
    """3-class macro-F1 and accuracy over all rows (macro over the classes the truth contains), and
    binary macro-F1 and accuracy over the non-neutral rows with the decision P(pos) vs P(neg)."""
    if len(true) != len(predictions):
        raise ValueError(f"{len(true)} labels but {len(predictions)} predictions")
    pred = [p.label for p in predictions]
    present = [label for label in LABELS if label in set(true)]
    macro, per_class = _macro_f1(true, pred, present)
    rows = [i for i, label in enumerate(true) if label != NEUTRAL]
    btrue = [true[i] for i in rows]
    bpred = [binary_label(predictions[i]) for i in rows]
    bmacro, _ = _macro_f1(btrue, bpred, [NEGATIVE, POSITIVE]) if rows else (0.0, {})
    return {
        "macro_f1": round(macro, 4),
        "accuracy": round(sum(t == p for t, p in zip(true, pred, strict=True)) / max(1, len(true)), 4),
        "f1_per_class": {label: round(score, 4) for label, score in per_class.items()},
        "binary_macro_f1": round(bmacro, 4),
        "binary_accuracy": round(sum(t == p for t, p in zip(btrue, bpred, strict=True)) / max(1, len(rows)), 4),
        "n": len(true),
        "n_binary": len(rows),
    }


# --- Fine-tuned encoder --------------------------------------------------------------------------------

def _logits(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    device: Device,
    max_length: int,
    batch_size: int,
    on_batch: OnBatch | None = None,
) -> np.ndarray:
    """Raw logits (n, classes) for non-empty prepared texts, batched by length, rows in input order."""

    @torch.inference_mode()
    def run(batch: list[str]) -> list[np.ndarray]:
        encoded = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        output = model(**encoded.to(device.torch)).logits.float().cpu().numpy()
        return list(output)

    if not texts:
        return np.zeros((0, len(LABELS)), dtype=np.float32)
    return np.stack(map_batched(list(texts), batch_size, run, on_batch)).astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class FineTunedSentiment:
    """A sequence classifier saved by `train_sentiment` (or any folder with the same layout).

    The folder holds Hugging Face weights and tokenizer plus `sentiment.json`: the label order, the
    training class prior and the logit bias that corrects it, and how the model was trained.
    """

    def __init__(self, path: Path | str, device: Device | None = None) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path = Path(path)
        meta_path = self.path / META_FILE
        self.meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        self.device = device or select_device()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModelForSequenceClassification.from_pretrained(self.path)
        self.model = unmap_weights(model).to(self.device.torch, dtype=self.device.dtype).eval()
        id2label = {int(k): str(v).lower() for k, v in model.config.id2label.items()}
        self.labels = tuple(self.meta.get("labels") or [id2label[i] for i in sorted(id2label)])
        bias = self.meta.get("logit_bias") if self.meta.get("prior_correction", True) else None
        self.logit_bias = np.asarray(bias or [0.0] * len(self.labels), dtype=np.float32)
        self.max_length = int(self.meta.get("max_length", DEFAULT_MAX_LENGTH))
        self.version = str(self.meta.get("name") or self.path.name)

    def predict(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[SentimentPrediction]:
        prepared, rows = _split_empty(texts)
        results = [EMPTY_PREDICTION] * len(prepared)
        if len(rows) < len(prepared) and on_batch is not None:
            on_batch(len(prepared) - len(rows))
        logits = _logits(
            self.model, self.tokenizer, [prepared[i] for i in rows], self.device, self.max_length,
            self.device.embed_batch_size, on_batch,
        )
        for i, probs in zip(rows, _softmax(logits + self.logit_bias), strict=True):
            results[i] = SentimentPrediction.from_probs(dict(zip(self.labels, probs.tolist(), strict=True)))
        return results


# --- Prototypes ----------------------------------------------------------------------------------------

class EmbedderLike(Protocol):
    version: str

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, on_batch: OnBatch | None = None
    ) -> np.ndarray: ...


class PrototypeSentiment:
    """Nearest labelled examples in embedding space: the fallback before a shop has rated reviews.

    A text's score for a class is the mean cosine similarity of its `top_k` most similar prototypes
    of that class (robust to a single odd neighbour); probabilities are a softmax over those scores
    at `temperature` (chosen for calibration on rated reviews, so confidences are usable).
    """

    def __init__(
        self,
        embedder: EmbedderLike,
        prototypes: Mapping[str, Sequence[str]] | None = None,
        *,
        top_k: int = 3,
        temperature: float = 0.05,
    ) -> None:
        from .sentiment_prototypes import PROTOTYPES, PROTOTYPES_VERSION

        self.embedder = embedder
        examples = prototypes or PROTOTYPES
        self.top_k, self.temperature = top_k, temperature
        self.vectors = {label: embedder.encode(list(examples[label])) for label in LABELS}
        self.version = f"prototypes-{PROTOTYPES_VERSION if prototypes is None else 'custom'}/{embedder.version}"

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(n, 3) class scores: mean of the top-k cosine similarities to each class's prototypes."""
        columns = []
        for label in LABELS:
            sims = vectors @ self.vectors[label].T
            k = min(self.top_k, sims.shape[1])
            columns.append(np.sort(sims, axis=1)[:, -k:].mean(axis=1))
        return np.stack(columns, axis=1)

    def predict(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[SentimentPrediction]:
        prepared, rows = _split_empty(texts)
        results = [EMPTY_PREDICTION] * len(prepared)
        if len(rows) < len(prepared) and on_batch is not None:
            on_batch(len(prepared) - len(rows))
        if rows:
            vectors = self.embedder.encode([prepared[i] for i in rows], on_batch=on_batch)
            probs = _softmax(self.scores(vectors) / self.temperature)
            for i, row in zip(rows, probs, strict=True):
                results[i] = SentimentPrediction.from_probs(dict(zip(LABELS, row.tolist(), strict=True)))
        return results


# --- Training ------------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    path: Path
    metrics: dict[str, Any]  # on the validation split, with the prior correction as saved
    params: dict[str, Any]  # everything needed to reproduce the run
    train_counts: dict[str, int]  # examples per class after balancing
    validation_texts: list[str] = field(repr=False)
    validation_labels: list[str] = field(repr=False)
    seconds: float = 0.0


def stratified_split(
    labels: Sequence[str], fraction: float, seed: int, max_rows: int | None = None
) -> tuple[list[int], list[int]]:
    """(train, held-out) indices with every class in the same proportion on both sides."""
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    wanted = len(labels) * fraction if max_rows is None else min(len(labels) * fraction, max_rows)
    share = wanted / max(1, len(labels))
    train, held = [], []
    for label in sorted(by_class):
        rows = by_class[label]
        rng.shuffle(rows)
        take = min(len(rows) - 1, max(1, round(len(rows) * share))) if len(rows) > 1 and share > 0 else 0
        held += rows[:take]
        train += rows[take:]
    return sorted(train), sorted(held)


def balanced_sample(
    labels: Sequence[str], indices: Sequence[int], max_per_class: int, seed: int, oversample: float = 1.5
) -> list[int]:
    """At most `max_per_class` rows per class; a rarer class is repeated up to `oversample` times its
    size (never beyond the cap), so it is heard without memorising a few reviews. The imbalance left
    over is undone by the prior correction."""
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = {}
    for i in indices:
        by_class.setdefault(labels[i], []).append(i)
    chosen: list[int] = []
    for label in sorted(by_class):
        rows = by_class[label][:]
        rng.shuffle(rows)
        taken = rows[:max_per_class]
        target = min(max_per_class, int(len(rows) * oversample))
        chosen += taken + [rng.choice(rows) for _ in range(max(0, target - len(taken)))]
    rng.shuffle(chosen)
    return chosen


def _bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort by length within windows of 50 batches, cut, shuffle the batches: little padding
    (the main cost on CPU) while batch order stays random."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _autocast(device: Device) -> AbstractContextManager[Any]:
    if device.is_cuda and device.dtype in (torch.bfloat16, torch.float16):
        return torch.autocast("cuda", dtype=device.dtype)
    return nullcontext()


def train_sentiment(
    texts: Sequence[str],
    labels: Sequence[str],
    out_dir: Path | str,
    *,
    base_path: Path | str | None = None,
    epochs: int | None = None,
    max_per_class: int | None = None,
    validation_fraction: float = 0.15,
    max_validation: int | None = 3000,
    seed: int = 0,
    progress: Progress | None = None,
    device: Device | None = None,
    learning_rate: float = 5e-5,
    batch_size: int | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    label_smoothing: float = 0.0,
    warmup_fraction: float = 0.06,
    oversample: float = 1.5,
    prior_correction: bool | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Fine-tune the encoder end to end with a 3-way head and save it to `out_dir`.

    A stratified validation split is held out first (natural class mix, capped at `max_validation`
    rows to bound the time), the rest balanced by `balanced_sample`. AdamW with linear warmup and
    decay, gradient clipping, length-bucketed batches. `prior_correction=None` keeps the logit bias
    only if it does not lower validation macro-F1 (the decision is recorded). CPU: batch 16, one epoch;
    CUDA: `Device.train_batch_size`, two epochs, bf16/fp16 autocast.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    started = time.monotonic()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown labels {unknown}; expected {LABELS}")
    device = device or select_device()
    epochs = epochs or (2 if device.is_cuda else 1)
    max_per_class = max_per_class or (20_000 if device.is_cuda else 2_000)
    batch_size = batch_size or device.train_batch_size
    base = Path(base_path) if base_path else default_embedding_path()
    out = Path(out_dir)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)

    prepared = [prepare_text(text) for text in texts]
    usable = [i for i, text in enumerate(prepared) if text]
    usable_labels = [labels[i] for i in usable]
    train_rows, val_rows = stratified_split(usable_labels, validation_fraction, seed, max_validation)
    chosen = balanced_sample(usable_labels, train_rows, max_per_class, seed, oversample)
    train_texts = [prepared[usable[i]] for i in chosen]
    train_labels = [usable_labels[i] for i in chosen]
    val_texts = [prepared[usable[i]] for i in val_rows]
    val_labels = [usable_labels[i] for i in val_rows]
    if not train_texts:
        raise ValueError("no training examples with text")

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model = unmap_weights(model).to(device.torch)
    encoded = tokenizer(train_texts, truncation=True, max_length=max_length)["input_ids"]
    targets = [LABELS.index(label) for label in train_labels]

    no_decay = ("bias", "LayerNorm.weight", "layernorm", "norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=learning_rate)
    lengths = [len(ids) for ids in encoded]
    steps_per_epoch = math.ceil(len(encoded) / batch_size)
    total_steps = steps_per_epoch * epochs
    warmup = max(1, int(total_steps * warmup_fraction))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    scaler = torch.amp.GradScaler("cuda") if device.is_cuda and device.dtype == torch.float16 else None
    val_batches = math.ceil(len(val_texts) / device.embed_batch_size)
    progress_total = total_steps + val_batches
    done = 0
    losses: list[float] = []
    pad_id = tokenizer.pad_token_id or 0

    model.train()
    for _epoch in range(epochs):
        for batch in _bucketed_batches(lengths, batch_size, rng):
            width = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = torch.tensor(encoded[i])
                mask[row, : lengths[i]] = 1
            target = torch.tensor([targets[i] for i in batch], device=device.torch)
            with _autocast(device):
                logits = model(input_ids=ids.to(device.torch), attention_mask=mask.to(device.torch)).logits
            loss = loss_fn(logits.float(), target)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            done += 1
            if progress is not None:
                progress(done, progress_total)
    train_seconds = time.monotonic() - started

    model.eval()

    def on_val_batch(_n: int) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, progress_total)

    infer_device = Device(device.name, torch.float32, device.embed_batch_size, batch_size, 1)
    val_logits = _logits(model, tokenizer, val_texts, infer_device, max_length, device.embed_batch_size, on_val_batch)
    train_prior = class_prior(train_labels)
    bias = np.asarray(prior_logit_bias(train_prior), dtype=np.float32)

    def evaluate(offset: np.ndarray) -> dict[str, Any]:
        probs = _softmax(val_logits + offset) if len(val_logits) else val_logits
        predictions = [SentimentPrediction.from_probs(dict(zip(LABELS, p.tolist(), strict=True))) for p in probs]
        return sentiment_metrics(val_labels, predictions)

    with_bias, without_bias = evaluate(bias), evaluate(np.zeros_like(bias))
    use_bias = prior_correction if prior_correction is not None else with_bias["macro_f1"] >= without_bias["macro_f1"]
    metrics = dict(with_bias if use_bias else without_bias)
    metrics["macro_f1_without_prior_correction"] = without_bias["macro_f1"]
    metrics["macro_f1_with_prior_correction"] = with_bias["macro_f1"]

    params = {
        "base_model": str(base),
        "epochs": epochs,
        "max_per_class": max_per_class,
        "oversample": oversample,
        "validation_fraction": validation_fraction,
        "seed": seed,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "max_length": max_length,
        "label_smoothing": label_smoothing,
        "warmup_fraction": warmup_fraction,
        "device": device.name,
        "rows_given": len(texts),
        "rows_with_text": len(usable),
        "train_rows": len(train_texts),
        "validation_rows": len(val_texts),
        "train_counts": dict(Counter(train_labels)),
        "validation_counts": dict(Counter(val_labels)),
        "final_loss": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
        "train_seconds": round(train_seconds, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)  # type: ignore[operator]  # transformers' stubs
    tokenizer.save_pretrained(out)
    meta = {
        "name": out.name,
        "labels": list(LABELS),
        "train_prior": train_prior,
        "target_prior": {label: 1 / len(LABELS) for label in LABELS},
        "logit_bias": bias.tolist(),
        "prior_correction": bool(use_bias),
        "max_length": max_length,
        "text_format": "title. text",
        "params": params,
        "metrics": metrics,
        **dict(extra_meta or {}),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    return TrainResult(
        path=out,
        metrics=metrics,
        params=params,
        train_counts=dict(Counter(train_labels)),
        validation_texts=val_texts,
        validation_labels=val_labels,
        seconds=time.monotonic() - started,
    )
