"""The polarity head: an aspect mention's polarity read from the tagger's own encoder states.

The sentiment of a term's clause misreads "the battery life is nowhere near the advertised hours"
(no negative word) and "the laces stay tied for the whole run" (no opinion word at all). The head
instead reads the fine-tuned encoder's states of the sentence: the mean of the term's word pieces,
and a summary of the sentence weighted by how much each piece matters to that term (attention with
the term as query), so "nowhere near", "but" and "than the old one" are seen from the term's side.
It trains jointly with the BIO tags (`training.train_aspect_tagger`) and runs on the same forward
pass as the tags. Saved beside the token classifier as safetensors, with its labels in the tagger's
meta file, so a tagger folder without it still loads (and polarity falls back to the clause).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

POLARITY_LABELS = ("negative", "neutral", "positive")  # the sentiment classifier's labels, same order
HEAD_FILE = "polarity_head.safetensors"
META_FILE = "aspects.json"  # the tagger's training metadata; its "polarity_head" entry describes the head
POOLING = "term-mean+term-attention"


class PolarityHead(torch.nn.Module):
    """Logits over `labels` for term spans: [mean of the term's pieces; term-attended sentence] -> linear."""

    def __init__(self, hidden: int, labels: Sequence[str] = POLARITY_LABELS, dropout: float = 0.1) -> None:
        super().__init__()
        self.hidden, self.labels = int(hidden), tuple(labels)
        self.query = torch.nn.Linear(hidden, hidden, bias=False)
        torch.nn.init.zeros_(self.query.weight)  # starts as a plain sentence mean, learns where to look
        self.dropout = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(2 * hidden, len(self.labels))

    def forward(self, states: torch.Tensor, attention_mask: torch.Tensor, term_mask: torch.Tensor) -> torch.Tensor:
        """(terms, labels) logits from per-term rows: encoder states (terms, pieces, hidden), the
        sentence's attention mask and the term's pieces (terms, pieces), each 0/1."""
        term_weights = term_mask.to(states.dtype)
        term = (states * term_weights.unsqueeze(-1)).sum(1) / term_weights.sum(1, keepdim=True).clamp(min=1.0)
        scores = torch.einsum("nth,nh->nt", states, self.query(term)) / math.sqrt(self.hidden)
        scores = scores.masked_fill(attention_mask == 0, torch.finfo(scores.dtype).min)
        context = torch.einsum("nt,nth->nh", scores.softmax(dim=-1), states)
        return self.out(self.dropout(torch.cat([term, context], dim=-1)))


def term_positions(offsets: Sequence[Sequence[int]], start: int, end: int) -> list[int]:
    """Word pieces of one tokenised window that overlap the character span [start, end); special and
    empty pieces (offset end <= start) never do."""
    return [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]


def save_head(head: PolarityHead, folder: Path) -> dict[str, Any]:
    """Write the head's weights (safetensors: tensors only, nothing executable) and return the entry
    that describes it in the tagger's meta file."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().to("cpu", torch.float32).contiguous() for name, tensor in head.state_dict().items()}
    save_file(state, str(folder / HEAD_FILE))
    return {"file": HEAD_FILE, "labels": list(head.labels), "hidden": head.hidden, "pooling": POOLING}


def load_head(folder: Path) -> PolarityHead | None:
    """The head saved in a tagger folder, or None when the folder has none (trained without polarity,
    or before heads existed). A meta file that names a head whose file is missing is an error."""
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        return None
    entry = json.loads(meta_path.read_text()).get("polarity_head")
    if not entry:
        return None
    weights = folder / str(entry.get("file") or HEAD_FILE)
    if not weights.is_file():
        raise FileNotFoundError(f"{meta_path} names a polarity head but {weights.name} is missing")
    if entry.get("pooling", POOLING) != POOLING:
        raise ValueError(f"{meta_path}: unknown polarity head pooling {entry.get('pooling')!r}")
    from safetensors.torch import load_file

    head = PolarityHead(int(entry["hidden"]), [str(label) for label in entry["labels"]])
    head.load_state_dict(load_file(str(weights)))
    return head.eval()
