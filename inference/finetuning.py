"""What the two fine-tuning loops (sentiment classifier, aspect tagger) share: the packaged encoder with a
fresh head, batches of similar length, mixed precision and one optimiser step.

On CPU, padding is most of the wasted time, so batches are cut from length-sorted pools while their
order stays random; on CUDA, bf16/fp16 autocast (and loss scaling for fp16).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch

from .device import Device
from .loading import unmap_weights

POOL_BATCHES = 50  # batches per length-sorted pool: little padding, still a random batch order


def encoder_with_head(auto_class: Any, base: Path, labels: Sequence[str], device: Device) -> tuple[Any, Any]:
    """(model, tokenizer): the encoder in `base` with a new, untrained head over `labels`, on `device`."""
    from transformers import AutoTokenizer  # heavy: loaded only when a model trains

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = auto_class.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return unmap_weights(model).to(device.torch), tokenizer


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices in batches of similar length: shuffle, sort within pools of POOL_BATCHES batches, cut,
    shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * POOL_BATCHES
    batches: list[list[int]] = []
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def autocast(device: Device) -> AbstractContextManager[Any]:
    if device.is_cuda and device.dtype in (torch.bfloat16, torch.float16):
        return torch.autocast("cuda", dtype=device.dtype)
    return nullcontext()


def weight_decay_groups(model: torch.nn.Module, weight_decay: float = 0.01) -> list[dict[str, Any]]:
    """AdamW parameter groups: biases and layer norms are not decayed."""

    def exempt(name: str) -> bool:
        return name.endswith(("bias", "norm.weight", "layernorm")) or "LayerNorm" in name

    named = list(model.named_parameters())
    return [
        {"params": [p for n, p in named if not exempt(n)], "weight_decay": weight_decay},
        {"params": [p for n, p in named if exempt(n)], "weight_decay": 0.0},
    ]


def grad_scaler(device: Device) -> torch.amp.GradScaler:
    """Loss scaling for fp16 on CUDA; disabled (a pass-through) everywhere else."""
    return torch.amp.GradScaler("cuda", enabled=device.is_cuda and device.dtype == torch.float16)


def optimizer_step(
    loss: torch.Tensor,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
) -> None:
    """Backpropagate `loss`, clip the gradient norm to 1, step the optimiser and the schedule."""
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
