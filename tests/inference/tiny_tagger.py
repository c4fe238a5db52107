"""A tagger folder in a second: a one-layer BERT with random weights and the packaged tokenizer, saved
as `train_aspect_tagger` saves one; optionally with a (random) polarity head beside it. Its tags and
polarities mean nothing: it exercises loading, windows, offsets and the fallbacks, not quality."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from inference.aspects.bio import LABELS
from inference.aspects.polarity_head import META_FILE, PolarityHead, save_head
from inference.loading import default_embedding_path

HIDDEN = 32


def tiny_tagger_folder(folder: Path, *, with_head: bool, seed: int = 0) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(default_embedding_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512,
        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
    )
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    BertForTokenClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    meta: dict[str, object] = {"labels": list(LABELS), "metrics": {}, "params": {}}
    if with_head:
        meta["polarity_head"] = save_head(PolarityHead(HIDDEN), folder)
    (folder / META_FILE).write_text(json.dumps(meta))
    return folder
