"""Where models run: CUDA when present (bf16 where supported, else fp16, bigger batches), else CPU.

On CPU, torch's thread count follows the cores this process may use (a worker pinned to 2 cores
should not start 64 threads).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import torch


@dataclass(frozen=True)
class Device:
    name: str  # "cuda" or "cpu"
    dtype: torch.dtype
    embed_batch_size: int  # texts per forward pass for encoders
    train_batch_size: int
    generate_batch_size: int

    @property
    def torch(self) -> torch.device:
        return torch.device(self.name)

    @property
    def is_cuda(self) -> bool:
        return self.name == "cuda"


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@cache
def select_device(prefer: str | None = None) -> Device:
    """Pick the device once per process. `prefer` (or INFERENCE_DEVICE) may force "cpu"."""
    choice = (prefer or os.environ.get("INFERENCE_DEVICE") or "auto").lower()
    if choice in {"auto", "cuda"} and torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Device("cuda", dtype, embed_batch_size=256, train_batch_size=32, generate_batch_size=16)
    torch.set_num_threads(usable_cores())
    return Device("cpu", torch.float32, embed_batch_size=64, train_batch_size=16, generate_batch_size=4)
