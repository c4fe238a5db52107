"""Fine-tuning the sentiment classifier on rated reviews, with the sampling and prior correction it needs."""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import finetuning
from ..device import Device, select_device
from ..loading import default_embedding_path
from ..padding import pad
from ..progress import NO_PROGRESS, Progress
from .classifier import LABELS, SentimentPrediction, prepare_text, sentiment_metrics, softmax
from .finetuned import DEFAULT_MAX_LENGTH, META_FILE, logits

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


# --- Sampling ------------------------------------------------------------------------------------------

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


# --- Training ------------------------------------------------------------------------------------------

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
    progress: Progress = NO_PROGRESS,
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
    CUDA: `Device.train_batch_size`, two epochs, bf16/fp16 autocast. `progress` counts training and
    validation batches.
    """
    # heavy: transformers loads only when a classifier trains
    from transformers import AutoModelForSequenceClassification

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

    model, tokenizer = finetuning.encoder_with_head(AutoModelForSequenceClassification, base, LABELS, device)
    encoded = tokenizer(train_texts, truncation=True, max_length=max_length)["input_ids"]
    targets = [LABELS.index(label) for label in train_labels]

    optimizer = torch.optim.AdamW(finetuning.weight_decay_groups(model), lr=learning_rate)
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
    scaler = finetuning.grad_scaler(device)
    progress.set_total(total_steps + math.ceil(len(val_texts) / device.embed_batch_size))
    losses: list[float] = []
    pad_id = tokenizer.pad_token_id or 0

    model.train()
    for _epoch in range(epochs):
        for batch in finetuning.bucketed_batches(lengths, batch_size, rng):
            ids, mask = pad([encoded[i] for i in batch], pad_id)
            target = torch.tensor([targets[i] for i in batch], device=device.torch)
            with finetuning.autocast(device):
                output = model(input_ids=ids.to(device.torch), attention_mask=mask.to(device.torch)).logits
            loss = loss_fn(output.float(), target)
            finetuning.optimizer_step(loss, model, optimizer, scheduler, scaler)
            losses.append(float(loss.detach()))
            progress.advance()
    train_seconds = time.monotonic() - started

    model.eval()
    infer_device = Device(device.name, torch.float32, device.embed_batch_size, batch_size, 1)
    val_logits = logits(
        model, tokenizer, val_texts, infer_device, max_length, device.embed_batch_size, lambda _n: progress.advance()
    )
    train_prior = class_prior(train_labels)
    bias = np.asarray(prior_logit_bias(train_prior), dtype=np.float32)

    def evaluate(offset: np.ndarray) -> dict[str, Any]:
        probs = softmax(val_logits + offset) if len(val_logits) else val_logits
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
    model.save_pretrained(out)
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

