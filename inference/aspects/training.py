"""Fine-tuning the aspect tagger on labelled aspect terms, and the scores it is judged by.

Sentences are split into training and held-out ones by a hash of their text (`holdout_split`), so two
taggers trained on the same file are compared on sentences neither saw; the held-out F1 (`span_scores`,
exact term match) picks the best epoch. When the terms carry polarity labels, a polarity head
(`polarity_head`) trains jointly on the same encoder: loss = tag loss + polarity loss over the gold
terms, and the epoch is picked by held-out F1 plus polarity accuracy on the gold terms.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
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
from ..sentiment.classifier import macro_f1
from .bio import LABELS, O, word_extents, word_labels
from .polarity_head import META_FILE, POLARITY_LABELS, PolarityHead, save_head, term_positions
from .tagger import MAX_TOKENS, AspectTagger
from .terms import AspectTerm, Example, Span

__all__ = ["META_FILE", "TrainResult", "holdout_split", "polarity_scores", "span_scores", "train_aspect_tagger"]

IGNORE = -100  # label of pieces the loss skips (special tokens, continuation pieces)
_TermRows = list[tuple[list[int], int]]  # per sentence: (word-piece positions of a term, polarity index)


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


def polarity_scores(true: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 over the three polarities (a class never predicted nor true counts 0)."""
    if len(true) != len(predicted):
        raise ValueError(f"{len(true)} true labels but {len(predicted)} predicted")
    macro, _ = macro_f1(true, predicted, POLARITY_LABELS)
    return {
        "accuracy": round(sum(t == p for t, p in zip(true, predicted, strict=True)) / max(1, len(true)), 4),
        "macro_f1": round(macro, 4),
        "n": len(true),
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


@dataclass
class TrainResult:
    metrics: dict[str, Any]  # precision / recall / f1 (exact term match) on the held-out sentences
    path: Path
    validation_indices: list[int]  # which examples were held out (compare other models on these)
    params: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def _encode_examples(
    tokenizer: Any, examples: Sequence[Example], polarities: Sequence[Sequence[str | None]] | None = None
) -> list[tuple[list[int], list[int], _TermRows]]:
    """(input ids, labels, terms) per example: the word's label on its first piece, IGNORE elsewhere;
    terms are the pieces and polarity index of each span with a polarity label (none cut off by
    truncation)."""
    encoded = tokenizer(
        [text for text, _ in examples], truncation=True, max_length=MAX_TOKENS, return_offsets_mapping=True
    )
    rows = []
    for index, (_, spans) in enumerate(examples):
        word_ids = encoded.word_ids(index)
        offsets = encoded["offset_mapping"][index]
        extents = word_extents(word_ids, offsets)
        order = sorted(extents)
        by_word = dict(zip(order, word_labels([(extents[w][0], extents[w][1]) for w in order], spans), strict=True))
        labels, previous = [], None
        for word, (start, end) in zip(word_ids, offsets, strict=True):
            is_first = word is not None and word != previous and end > start
            labels.append(by_word.get(word, O) if is_first and word is not None else IGNORE)
            if word is not None and end > start:
                previous = word
        terms: _TermRows = []
        labelled = polarities[index] if polarities is not None else [None] * len(spans)
        for (start, end), polarity in zip(spans, labelled, strict=True):
            positions = term_positions(offsets, start, end)
            if polarity in POLARITY_LABELS and positions:
                terms.append((positions, POLARITY_LABELS.index(str(polarity))))
        rows.append((list(encoded["input_ids"][index]), labels, terms))
    return rows


def _polarity_loss(
    head: PolarityHead, states: torch.Tensor, mask: torch.Tensor, terms: list[_TermRows]
) -> torch.Tensor:
    """Cross-entropy of the head over the labelled terms of a batch (zero when it has none)."""
    owners = [row for row, sentence in enumerate(terms) for _ in sentence]
    if not owners:
        return states.new_zeros(())
    term_mask = torch.zeros((len(owners), states.shape[1]), dtype=torch.long, device=states.device)
    targets = []
    flat = [term for sentence in terms for term in sentence]
    for row, (positions, label) in enumerate(flat):
        term_mask[row, positions] = 1
        targets.append(label)
    index = torch.tensor(owners, device=states.device)
    logits = head(states[index], mask[index], term_mask)
    return torch.nn.functional.cross_entropy(logits, torch.tensor(targets, device=states.device))


def train_aspect_tagger(
    examples: Sequence[Example],
    out_dir: Path | str,
    *,
    polarities: Sequence[Sequence[str | None]] | None = None,
    base_path: Path | str | None = None,
    epochs: int = 8,
    validation_fraction: float = 0.2,
    seed: int = 0,
    learning_rate: float = 1e-4,
    batch_size: int | None = None,
    warmup_fraction: float = 0.1,
    patience: int = 3,
    max_steps: int | None = None,
    progress: Progress = NO_PROGRESS,
    device: Device | None = None,
) -> TrainResult:
    """Fine-tune the encoder end to end as a BIO tagger and save it (with its tokenizer) to `out_dir`.

    Sentences without aspects stay in as negatives: they teach the tagger when to say nothing. The
    held-out sentences (`holdout_split`) pick the best epoch and give the metrics; training stops after
    `patience` epochs without a better score there. `max_steps` bounds the run (tests). `progress` counts
    optimizer steps.

    `polarities`, one label per span of each example (negative / neutral / positive; anything else,
    such as SemEval's "conflict" or None, is not trained on), adds the polarity head: it trains on the
    same batches (loss = tag loss + polarity loss over the gold terms) and is saved beside the tagger.
    Without any labelled term no head is trained, and polarity stays with the clause method.
    """
    # heavy: transformers loads only when a tagger trains
    from transformers import AutoModelForTokenClassification, get_linear_schedule_with_warmup

    started = time.monotonic()
    for text, spans in examples:
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                raise ValueError(f"span ({start}, {end}) lies outside a text of {len(text)} characters")
    if polarities is not None:
        if len(polarities) != len(examples):
            raise ValueError(f"{len(examples)} examples but {len(polarities)} polarity lists")
        for index, ((_, spans), given) in enumerate(zip(examples, polarities, strict=True)):
            if len(spans) != len(given):
                raise ValueError(f"example {index} has {len(spans)} spans but {len(given)} polarity labels")
        if not any(label in POLARITY_LABELS for given in polarities for label in given):
            polarities = None  # nothing to learn polarity from
    device = device or select_device()
    base = Path(base_path) if base_path else default_embedding_path()
    torch.manual_seed(seed)  # the new heads' weights and dropout; batch order has its own generator
    train_idx, val_idx = holdout_split([text for text, _ in examples], validation_fraction)
    if not train_idx:
        raise ValueError("no training examples left after holding out the validation split")

    model, tokenizer = finetuning.encoder_with_head(AutoModelForTokenClassification, base, LABELS, device)
    head = PolarityHead(int(model.config.hidden_size)).to(device.torch) if polarities is not None else None
    rows = _encode_examples(
        tokenizer, [examples[i] for i in train_idx], [polarities[i] for i in train_idx] if polarities else None
    )
    lengths = [len(ids) for ids, _, _ in rows]
    batch_size = batch_size or device.train_batch_size
    steps_per_epoch = math.ceil(len(rows) / batch_size)
    total_steps = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    groups = finetuning.weight_decay_groups(model)
    if head is not None:
        groups += finetuning.weight_decay_groups(head)
    optimizer = torch.optim.AdamW(groups, lr=learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * warmup_fraction), total_steps)
    scaler = finetuning.grad_scaler(device)
    pad_id = int(tokenizer.pad_token_id or 0)
    validation = [examples[i] for i in val_idx]
    validation_polarity = _labelled_terms(examples, polarities, val_idx) if head is not None else []
    evaluator = AspectTagger.from_model(model, tokenizer, device, head)
    trained = torch.nn.ModuleList([model] + ([head] if head is not None else []))

    rng = random.Random(seed)
    history: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best: dict[str, Any] = {}
    best_epoch, step = 0, 0
    progress.set_total(total_steps)
    for epoch in range(1, epochs + 1):
        trained.train()
        losses, polarity_losses = [], []
        for batch in finetuning.bucketed_batches(lengths, batch_size, rng):
            if step >= total_steps:
                break
            ids, mask = pad([rows[i][0] for i in batch], pad_id)
            labels, _ = pad([rows[i][1] for i in batch], IGNORE)
            ids, mask = ids.to(device.torch), mask.to(device.torch)
            with finetuning.autocast(device):
                output = model(
                    input_ids=ids, attention_mask=mask, labels=labels.to(device.torch),
                    output_hidden_states=head is not None,
                )
                loss = output.loss
                if head is not None:
                    polarity_loss = _polarity_loss(head, output.hidden_states[-1], mask, [rows[i][2] for i in batch])
                    polarity_losses.append(float(polarity_loss.detach()))
                    loss = loss + polarity_loss
            finetuning.optimizer_step(loss, trained, optimizer, scheduler, scaler)
            losses.append(float(loss.detach()))
            step += 1
            progress.advance()
        trained.eval()
        record: dict[str, Any] = {"epoch": epoch, "loss": round(float(np.mean(losses)) if losses else 0.0, 4)}
        if polarity_losses:
            record["polarity_loss"] = round(float(np.mean(polarity_losses)), 4)
        if validation:
            predicted = evaluator.extract([text for text, _ in validation])
            record.update(span_scores([spans for _, spans in validation], predicted))
            record["score"] = record["f1"]
        if validation_polarity:
            texts, spans, truth = zip(*validation_polarity, strict=True)
            guessed = evaluator.span_polarities(texts, spans)
            scores = polarity_scores([t for group in truth for t in group], [g for group in guessed for g in group])
            record.update(polarity_accuracy=scores["accuracy"], polarity_macro_f1=scores["macro_f1"])
            record["score"] = round(record["f1"] + scores["accuracy"], 4)
        history.append(record)
        if not validation or best_state is None or record["score"] > best["score"]:
            best, best_epoch = record, epoch
            best_state = {k: v.detach().clone() for k, v in trained.state_dict().items()} if validation else None
        elif epoch - best_epoch >= patience:
            break
        if step >= total_steps:
            break
    if step != total_steps:
        progress.set_total(step)  # stopped early: the work is done, whatever was planned
    if best_state is not None:
        trained.load_state_dict(best_state)
    trained.eval()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics: dict[str, Any] = (
        {k: best[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")} | {"validation_sentences": len(val_idx)}
        if validation
        else {}
    )
    if validation_polarity:
        metrics |= {
            "polarity_accuracy": best["polarity_accuracy"],
            "polarity_macro_f1": best["polarity_macro_f1"],
            "polarity_terms": sum(len(spans) for _, spans, _ in validation_polarity),
        }
    params = {
        "base_model": str(base),
        "examples": len(examples),
        "train_sentences": len(train_idx),
        "validation_sentences": len(val_idx),
        "train_terms": sum(len(examples[i][1]) for i in train_idx),
        "polarity_head": head is not None,
        "train_polarity_terms": sum(len(row[2]) for row in rows),
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
    meta: dict[str, Any] = {"labels": list(LABELS), "metrics": metrics, "params": params, "history": history}
    if head is not None:
        meta["polarity_head"] = save_head(head, out)
    (out / META_FILE).write_text(json.dumps(meta, indent=2))
    return TrainResult(metrics, out, list(val_idx), params, history)


def _labelled_terms(
    examples: Sequence[Example], polarities: Sequence[Sequence[str | None]] | None, indices: Sequence[int]
) -> list[tuple[str, list[Span], list[str]]]:
    """(text, spans, polarities) of the sentences of `indices`, keeping the terms with one of the head's
    labels; sentences left without any are left out."""
    if polarities is None:
        return []
    rows = []
    for i in indices:
        kept = [
            ((int(span[0]), int(span[1])), str(label))
            for span, label in zip(examples[i][1], polarities[i], strict=True)
            if label in POLARITY_LABELS
        ]
        if kept:
            rows.append((examples[i][0], [span for span, _ in kept], [label for _, label in kept]))
    return rows
