"""Server-sent events of one answer: the answering runs in a worker thread and reports its progress through
`on_event`; the response iterates the events as they come, then a `done` event with the whole reply (the
same JSON as the non-streamed answer), or an `error` event.

The worker has its own database connection (Django's are per thread), closed when it ends.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection

from .models import ConversationMessage

logger = logging.getLogger(__name__)

_EVENT_NAME = re.compile(r"^[a-z_]{1,32}$")
_END = object()
KEEP_ALIVE_SECONDS = 15.0  # a comment line keeps proxies from closing a quiet stream
RESERVED = ("done", "error")  # only the stream itself sends these


def sse(event: str, data: Any) -> str:
    """One event in the text/event-stream format (data on one line: JSON never holds a raw newline)."""
    return f"event: {event}\ndata: {json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)}\n\n"


def stream_answer(
    answer: Callable[[Callable[[str, dict[str, Any]], None]], ConversationMessage],
    done: Callable[[ConversationMessage], dict[str, Any]],
) -> Iterator[str]:
    """Runs `answer(on_event)` in a thread, yielding its events as SSE, then `done(reply)` as the `done`
    event. Events with an unexpected name are dropped (the stream's own `done`/`error` cannot be faked)."""
    events: queue.Queue[Any] = queue.Queue()

    def on_event(name: str, payload: dict[str, Any]) -> None:
        if _EVENT_NAME.match(name) and name not in RESERVED:
            events.put((name, payload))

    def work() -> None:
        close_old_connections()
        try:
            reply = answer(on_event)
            events.put(("done", done(reply)))
        except ValueError as refused:  # answering's limits, worded for the shopper
            events.put(("error", {"detail": str(refused)}))
        except Exception:
            logger.exception("streamed answer failed")
            events.put(("error", {"detail": "the assistant could not answer; please try again"}))
        finally:
            connection.close()
            events.put(_END)

    worker = threading.Thread(target=work, name="assistant-answer", daemon=True)
    worker.start()
    yield ": stream open\n\n"
    while True:
        try:
            item = events.get(timeout=KEEP_ALIVE_SECONDS)
        except queue.Empty:
            yield ": still working\n\n"
            continue
        if item is _END:
            break
        name, payload = item
        yield sse(name, payload)
    worker.join(timeout=1.0)
