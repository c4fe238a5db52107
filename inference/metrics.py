"""Prometheus measurements of the models: seconds and batch size per call for each role, and generation's
tokens per second. Plain prometheus_client (no Django), so a worker, a command or a test records the same
way; the web process's `/metrics` (ecommarketing/metrics.py) exposes them, across processes when
PROMETHEUS_MULTIPROC_DIR is set.

A "batch" is the texts (or prompts) handed to the model in one call: what a caller can tune."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

MODEL_SECONDS = Histogram(
    "ecom_model_seconds", "Seconds of one model call, by role (embedding, sentiment, generation).", ["role"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
MODEL_BATCH = Histogram(
    "ecom_model_batch_size", "Texts or prompts handed to a model in one call, by role.", ["role"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
)
GENERATION_TOKENS_PER_SECOND = Histogram(
    "ecom_generation_tokens_per_second", "New tokens per second of one generation call, by backend.", ["backend"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
)
GENERATION_TOKENS = Counter("ecom_generation_tokens", "New tokens generated, by backend.", ["backend"])

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def timed(role: str, batch_size: int) -> Iterator[None]:
    """Time one call of a `role` model on `batch_size` inputs (recorded even when the call raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        MODEL_SECONDS.labels(role).observe(time.perf_counter() - started)
        MODEL_BATCH.labels(role).observe(batch_size)


def observed(role: str) -> Callable[[F], F]:
    """Decorate a model method whose first argument is the sequence of texts it reads."""

    def decorate(method: F) -> F:
        @wraps(method)
        def wrapper(self: Any, texts: Sized, *args: Any, **kwargs: Any) -> Any:
            with timed(role, len(texts)):
                return method(self, texts, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def record_generation(backend: str, prompts: int, new_tokens: int, seconds: float) -> None:
    """One `generate`/`sample` call of a generator: latency, prompts, tokens and their rate."""
    MODEL_SECONDS.labels("generation").observe(seconds)
    MODEL_BATCH.labels("generation").observe(prompts)
    GENERATION_TOKENS.labels(backend).inc(new_tokens)
    if seconds > 0 and new_tokens:
        GENERATION_TOKENS_PER_SECOND.labels(backend).observe(new_tokens / seconds)
