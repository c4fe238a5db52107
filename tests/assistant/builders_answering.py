"""Builders for the answering tests: a tiny knowledge base written directly (no model), evidence as
retrieval hands it over, and an OpenAI-compatible chat server that answers with chosen texts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np

from assistant.evidence import Evidence
from assistant.models import Conversation, KnowledgeChunk, SourceKind
from assistant.tokens import search_text
from catalog.models import Product
from tests.catalog.builders import product as make_product
from tests.inference.http_server import send_json

_seq = itertools.count(1)


def chunk(text: str, *, title: str = "", kind: str = SourceKind.ARTICLE, product: Product | None = None,
          language: str = "en", embedding: Sequence[float] | np.ndarray | None = None) -> KnowledgeChunk:
    """One indexed passage; its embedding is `embedding` (tests choose how close the query is)."""
    n = next(_seq)
    vector = np.zeros(384, dtype=np.float32) if embedding is None else np.asarray(embedding, dtype=np.float32)
    if embedding is None:
        vector[n % 384] = 1.0
    title = title or f"Passage {n}"
    return KnowledgeChunk.objects.create(
        kind=kind, source_id=10_000 + n, position=0, product=product, title=title, text=text, language=language,
        search_text=search_text(f"{title}\n{text}", language), embedding=vector, embedding_model="test",
        text_hash=f"hash-{n}",
    )


def evidence_of(row: KnowledgeChunk, score: float) -> Evidence:
    return Evidence(
        chunk_id=row.pk, kind=row.kind, source_id=row.source_id, product_id=row.product_id, title=row.title,
        text=row.text, language=row.language, score=score, text_score=score, vector_score=score,
    )


def headphones() -> Product:
    return make_product(title="Orbit Arc Headphones", category="Electronics > Audio")


def conversation(**fields: Any) -> Conversation:
    return Conversation.objects.create(**fields)


Reply = Callable[[dict[str, Any]], str]


class ChatServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint: `reply(request body)` is the answer; requests are recorded."""

    reply: Reply = staticmethod(lambda body: "")
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        text = type(self).reply(body)
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                   for i in range(int(body.get("n", 1)))]
        send_json(self, {"choices": choices})

    def log_message(self, *args: Any) -> None:
        pass

    @classmethod
    def users(cls) -> list[str]:
        """The user message of every request."""
        return [body["messages"][1]["content"] for body in cls.requests]
