"""The fine-tuned sentiment model at work: a saved encoder with an ordinal head (a score and two
thresholds) or, in older folders, a 3-way classifier with its prior correction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..batching import map_batched
from ..device import Device, select_device
from ..loading import unmap_weights
from ..metrics import observed
from ..progress import OnBatch
from . import ordinal
from .classifier import EMPTY_PREDICTION, LABELS, SentimentPrediction, softmax, split_empty

META_FILE = "sentiment.json"  # labels, priors, logit bias and training metadata beside the weights
DEFAULT_MAX_LENGTH = 128  # word pieces; nearly all reviews fit, and attention cost grows with the square
ORDINAL_HEAD = "ordinal"  # sentiment.json "head": one score + thresholds; absent or "classifier": 3 logits


def logits(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    device: Device,
    max_length: int,
    batch_size: int,
    on_batch: OnBatch | None = None,
) -> np.ndarray:
    """Raw outputs (n, classes; n, 1 for the ordinal score) for non-empty prepared texts, batched by
    length, rows in input order."""

    @torch.inference_mode()
    def run(batch: list[str]) -> list[np.ndarray]:
        encoded = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        output = model(**encoded.to(device.torch)).logits.float().cpu().numpy()
        return list(output)

    if not texts:
        return np.zeros((0, len(LABELS)), dtype=np.float32)
    return np.stack(map_batched(list(texts), batch_size, run, on_batch)).astype(np.float32)


class FineTunedSentiment:
    """A model saved by `train_sentiment` (or any folder with the same layout).

    The folder holds Hugging Face weights and tokenizer plus `sentiment.json`: which head ("ordinal":
    one score per text and the two thresholds chosen on validation; "classifier" or absent, as in
    folders saved before the ordinal head: the label order, the training class prior and the logit
    bias that corrects it), and how the model was trained.
    """

    def __init__(self, path: Path | str, device: Device | None = None) -> None:
        # heavy: transformers loads only when a classifier does
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
        self.head = str(self.meta.get("head") or "classifier")
        self.thresholds: tuple[float, float] | None = None
        if self.head == ORDINAL_HEAD:
            thresholds = self.meta.get("thresholds")
            if not isinstance(thresholds, list) or len(thresholds) != 2 or model.config.num_labels != 1:
                raise ValueError(f"{meta_path}: an ordinal model needs one output and two thresholds")
            self.thresholds = (float(thresholds[0]), float(thresholds[1]))
            ordinal.class_probs(np.zeros(1), self.thresholds)  # refuses unordered thresholds now, not per batch
        elif model.config.num_labels < 2 or model.config.num_labels != len(self.labels):
            raise ValueError(f"{self.path}: {model.config.num_labels} outputs but labels {list(self.labels)}; "
                             f"an ordinal model needs its {META_FILE}")
        bias = self.meta.get("logit_bias") if self.meta.get("prior_correction", True) else None
        self.logit_bias = np.asarray(bias or [0.0] * len(self.labels), dtype=np.float32)
        self.max_length = int(self.meta.get("max_length", DEFAULT_MAX_LENGTH))
        self.version = str(self.meta.get("name") or self.path.name)

    @observed("sentiment")
    def predict(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[SentimentPrediction]:
        prepared, rows = split_empty(texts)
        results = [EMPTY_PREDICTION] * len(prepared)
        if len(rows) < len(prepared) and on_batch is not None:
            on_batch(len(prepared) - len(rows))
        scores = logits(
            self.model, self.tokenizer, [prepared[i] for i in rows], self.device, self.max_length,
            self.device.embed_batch_size, on_batch,
        )
        if self.thresholds is not None:
            for i, prediction in zip(rows, ordinal.predictions(scores[:, 0], self.thresholds), strict=True):
                results[i] = prediction
            return results
        for i, probs in zip(rows, softmax(scores + self.logit_bias), strict=True):
            results[i] = SentimentPrediction.from_probs(dict(zip(self.labels, probs.tolist(), strict=True)))
        return results

