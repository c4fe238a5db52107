"""Fine-tuning the sentiment model on rated reviews: an ordinal head on the stars (default) or the
3-way cross-entropy head with balanced sampling and prior correction (the earlier method, kept for
comparison and for old folders)."""

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
from . import ordinal
from .classifier import LABELS, NEUTRAL, SentimentPrediction, prepare_text, sentiment_metrics, softmax
from .finetuned import DEFAULT_MAX_LENGTH, META_FILE, ORDINAL_HEAD, logits

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
    train_counts: dict[str, int]  # examples per class trained on (after any balancing)
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


# --- The ordinal head's cutpoints ----------------------------------------------------------------------

class Cutpoints(torch.nn.Module):
    """K-1 ordered cutpoints: the first, then positive gaps (softplus), so the order cannot break."""

    def __init__(self, initial: Sequence[float]) -> None:
        super().__init__()
        values = torch.tensor(list(initial), dtype=torch.float32)
        gaps = (values[1:] - values[:-1]).clamp(min=1e-2)
        self.first = torch.nn.Parameter(values[:1].clone())
        self.raw_gaps = torch.nn.Parameter(torch.log(torch.expm1(gaps)))  # softplus⁻¹

    def forward(self) -> torch.Tensor:
        gaps = torch.nn.functional.softplus(self.raw_gaps)
        return torch.cat([self.first, self.first + torch.cumsum(gaps, dim=0)])


def initial_cutpoints(levels: Sequence[int], n_levels: int) -> list[float]:
    """logit P(level <= k) in training: a score of 0 starts at the training marginal."""
    counts = np.bincount(np.asarray(levels, dtype=np.int64), minlength=n_levels)[:n_levels]
    cumulative = np.clip(np.cumsum(counts)[:-1] / max(1, counts.sum()), 1e-3, 1 - 1e-3)
    return [float(math.log(p / (1 - p))) for p in cumulative]


def ordinal_loss(
    scores: torch.Tensor, cutpoints: torch.Tensor, levels: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean binary cross-entropy of the K-1 questions "more than level k?" (CORAL-style, one shared
    score): each review teaches every cutpoint, so the rare middle level borrows from its neighbours.
    `weights` (one per review) make it a weighted mean."""
    z = scores.float().reshape(-1, 1) - cutpoints.reshape(1, -1)
    above = (levels.reshape(-1, 1) > torch.arange(cutpoints.numel(), device=levels.device).reshape(1, -1)).float()
    if weights is None:
        return torch.nn.functional.binary_cross_entropy_with_logits(z, above)
    per_review = torch.nn.functional.binary_cross_entropy_with_logits(z, above, reduction="none").mean(dim=1)
    return (per_review * weights).sum() / weights.sum().clamp(min=1e-9)


def balanced_weights(labels: Sequence[str]) -> list[float]:
    """Per-row weight 1 / (class share x classes), mean 1: every class weighs the same in the loss, so
    the score scale is not anchored to one shop's mix (a shop with 77% positive reviews otherwise puts
    short plain complaints of another source on the positive side)."""
    counts = Counter(labels)
    return [len(labels) / (len(counts) * counts[label]) for label in labels]


# --- Training ------------------------------------------------------------------------------------------

HEADS = (ORDINAL_HEAD, "classifier")


def train_sentiment(
    texts: Sequence[str],
    labels: Sequence[str],
    out_dir: Path | str,
    *,
    ratings: Sequence[object] | None = None,
    head: str = ORDINAL_HEAD,
    base_path: Path | str | None = None,
    epochs: int | None = None,
    patience: int = 1,
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
    balance_classes: bool = True,
    extra_meta: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Fine-tune the encoder end to end and save it to `out_dir`.

    A stratified validation split is held out first (natural class mix, capped at `max_validation`).
    `head="ordinal"` (default): one score per review and ordered cutpoints between the star levels
    (`ratings` 1-5 when given, else the label order; binary labels give two levels), trained on every
    row (`max_per_class` an optional cap, none by default) for up to `epochs` passes (CPU 2, CUDA 4)
    with early stopping: after each pass the validation macro-F1 (binary macro-F1 for binary labels)
    is measured, training stops after `patience` passes without a gain, and the best pass's weights
    are kept. The two thresholds (negative|neutral, neutral|positive) are then chosen on validation
    for macro-F1 and saved. `head="classifier"`: the earlier method, a 3-way cross-entropy head on a
    balanced sample (`max_per_class`, default 2000 on CPU, 20000 on CUDA; CPU 1 epoch, CUDA 2) with
    the prior correction kept only if it does not lower validation macro-F1. Both: AdamW with linear
    warmup and decay, gradient clipping, length-bucketed batches, bf16/fp16 autocast on CUDA.
    """
    # heavy: transformers loads only when a classifier trains
    from transformers import AutoModelForSequenceClassification

    started = time.monotonic()
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {HEADS}")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if ratings is not None and len(ratings) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(ratings)} ratings")
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown labels {unknown}; expected {LABELS}")
    if epochs is not None and epochs < 1:
        raise ValueError("epochs must be at least 1")
    if patience < 1:
        raise ValueError("patience must be at least 1")
    stars = ordinal.check_ratings(ratings) if ratings is not None else None
    is_ordinal = head == ORDINAL_HEAD
    levels, level_classes = ordinal.ordinal_levels(labels, stars) if is_ordinal else ([], list(LABELS))
    device = device or select_device()
    if is_ordinal:
        epochs = epochs or (4 if device.is_cuda else 2)
    else:
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
    if not usable:
        raise ValueError("no training examples with text")
    usable_labels = [labels[i] for i in usable]
    train_rows, val_rows = stratified_split(usable_labels, validation_fraction, seed, max_validation)
    if max_per_class:
        chosen = balanced_sample(usable_labels, train_rows, max_per_class, seed, oversample if not is_ordinal else 1.0)
    else:
        chosen = list(train_rows)
        rng.shuffle(chosen)
    train_texts = [prepared[usable[i]] for i in chosen]
    train_labels = [usable_labels[i] for i in chosen]
    val_texts = [prepared[usable[i]] for i in val_rows]
    val_labels = [usable_labels[i] for i in val_rows]
    if not train_texts:
        raise ValueError("no training examples with text")
    binary_validation = bool(val_labels) and NEUTRAL not in val_labels
    metric_name = "binary_macro_f1" if binary_validation else "macro_f1"

    head_labels = ["score"] if is_ordinal else list(LABELS)
    model, tokenizer = finetuning.encoder_with_head(AutoModelForSequenceClassification, base, head_labels, device)
    encoded = tokenizer(train_texts, truncation=True, max_length=max_length)["input_ids"]
    if is_ordinal:
        train_levels = [levels[usable[i]] for i in chosen]
        targets = train_levels
        cutpoints: Cutpoints | None = Cutpoints(initial_cutpoints(train_levels, len(level_classes))).to(device.torch)
        row_weights = balanced_weights(train_labels) if balance_classes else None
    else:
        targets = [LABELS.index(label) for label in train_labels]
        cutpoints = None
        row_weights = None

    groups = finetuning.weight_decay_groups(model)
    if cutpoints is not None:
        groups.append({"params": list(cutpoints.parameters()), "weight_decay": 0.0})
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
    ce_loss = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    scaler = finetuning.grad_scaler(device)
    val_batches = math.ceil(len(val_texts) / device.embed_batch_size)
    validations = epochs if epochs > 1 else 1
    progress.set_total(total_steps + validations * val_batches)
    progress_done = 0
    losses: list[float] = []
    pad_id = tokenizer.pad_token_id or 0
    infer_device = Device(device.name, torch.float32, device.embed_batch_size, batch_size, 1)

    def validation_outputs() -> np.ndarray:
        nonlocal progress_done
        model.eval()
        outputs = logits(
            model, tokenizer, val_texts, infer_device, max_length, device.embed_batch_size,
            lambda _n: progress.advance(),
        )
        progress_done += val_batches
        model.train()
        return outputs

    def current_cutpoints() -> list[float]:
        return [float(c) for c in cutpoints().detach().cpu()] if cutpoints is not None else []

    def epoch_score(outputs: np.ndarray) -> float:
        """The validation metric early stopping watches (thresholds / prior correction as they would be chosen)."""
        if not val_labels:
            return 0.0
        if is_ordinal:
            cuts = ordinal.boundary_cutpoints(current_cutpoints(), level_classes)
            thresholds, _ = ordinal.choose_thresholds(outputs[:, 0], val_labels, cuts)
            return float(sentiment_metrics(val_labels, ordinal.predictions(outputs[:, 0], thresholds))[metric_name])
        bias = np.asarray(prior_logit_bias(class_prior(train_labels)), dtype=np.float32)
        offsets = (bias, np.zeros_like(bias))
        return max(float(classifier_metrics(outputs, offset, val_labels)[metric_name]) for offset in offsets)

    best: dict[str, Any] = {"score": -1.0, "epoch": 0}
    history: list[dict[str, Any]] = []
    model.train()
    for epoch in range(1, epochs + 1):
        epoch_started = time.monotonic()
        epoch_losses: list[float] = []
        for batch in finetuning.bucketed_batches(lengths, batch_size, rng):
            ids, mask = pad([encoded[i] for i in batch], pad_id)
            target = torch.tensor([targets[i] for i in batch], device=device.torch)
            with finetuning.autocast(device):
                output = model(input_ids=ids.to(device.torch), attention_mask=mask.to(device.torch)).logits
            if cutpoints is not None:
                weight = (None if row_weights is None
                          else torch.tensor([row_weights[i] for i in batch], device=device.torch))
                loss = ordinal_loss(output[:, 0], cutpoints(), target, weight)
            else:
                loss = ce_loss(output.float(), target)
            finetuning.optimizer_step(loss, model, optimizer, scheduler, scaler)
            epoch_losses.append(float(loss.detach()))
            progress.advance()
            progress_done += 1
        losses += epoch_losses
        if epochs == 1:
            history.append({"epoch": 1, "loss": round(float(np.mean(epoch_losses)), 4),
                            "seconds": round(time.monotonic() - epoch_started, 1)})
            best = {"epoch": 1, "outputs": None}
            break
        outputs = validation_outputs()
        score = epoch_score(outputs)
        history.append({"epoch": epoch, "loss": round(float(np.mean(epoch_losses)), 4),
                        f"validation_{metric_name}": round(score, 4),
                        "seconds": round(time.monotonic() - epoch_started, 1)})
        if score > best["score"]:
            best = {
                "score": score, "epoch": epoch, "outputs": outputs, "cutpoints": current_cutpoints(),
                "state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
            }
        elif epoch - best["epoch"] >= patience:
            break
    if best.get("state") is not None and best["epoch"] != len(history):
        model.load_state_dict(best["state"])
    train_seconds = time.monotonic() - started

    val_outputs = best["outputs"] if best.get("outputs") is not None else validation_outputs()
    for _ in range(total_steps + validations * val_batches - progress_done):  # the passes early stopping saved
        progress.advance()
    train_prior = class_prior(train_labels)
    meta_head: dict[str, Any]
    if is_ordinal:
        learned = best.get("cutpoints") or current_cutpoints()
        boundary = ordinal.boundary_cutpoints(learned, level_classes)
        thresholds, _ = ordinal.choose_thresholds(val_outputs[:, 0], val_labels, boundary)
        metrics = sentiment_metrics(val_labels, ordinal.predictions(val_outputs[:, 0], thresholds))
        metrics["macro_f1_at_learned_cutpoints"] = sentiment_metrics(
            val_labels, ordinal.predictions(val_outputs[:, 0], boundary)
        )["macro_f1"]
        use_bias = False
        bias = np.zeros(len(LABELS), dtype=np.float32)
        meta_head = {"levels": level_classes, "cutpoints": [round(c, 6) for c in learned],
                     "thresholds": [round(t, 6) for t in thresholds]}
    else:
        bias = np.asarray(prior_logit_bias(train_prior), dtype=np.float32)
        with_bias = classifier_metrics(val_outputs, bias, val_labels)
        without_bias = classifier_metrics(val_outputs, np.zeros_like(bias), val_labels)
        use_bias = (
            prior_correction if prior_correction is not None else with_bias["macro_f1"] >= without_bias["macro_f1"]
        )
        metrics = dict(with_bias if use_bias else without_bias)
        metrics["macro_f1_without_prior_correction"] = without_bias["macro_f1"]
        metrics["macro_f1_with_prior_correction"] = with_bias["macro_f1"]
        meta_head = {}

    params = {
        "base_model": str(base),
        "head": head,
        "target": "stars" if is_ordinal and stars is not None else "labels",
        "balance_classes": bool(is_ordinal and balance_classes),
        "epochs": epochs,
        "patience": patience,
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "epoch_history": history,
        "max_per_class": max_per_class,
        "oversample": oversample if max_per_class and not is_ordinal else None,
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
        "head": head,
        "labels": list(LABELS),
        **meta_head,
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


def classifier_metrics(outputs: np.ndarray, offset: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Validation scores of the cross-entropy head with logit offset `offset` (the prior correction or none)."""
    probs = softmax(outputs + offset) if len(outputs) else outputs
    predictions = [SentimentPrediction.from_probs(dict(zip(LABELS, p.tolist(), strict=True))) for p in probs]
    return sentiment_metrics(labels, predictions)
