"""The Celery application. Tasks live in each app's tasks.py; job execution is in jobs/tasks.py.

Three queues, one worker each (`make demo`, docker-compose), so a quick database job never waits behind a
model job: `default` (database work: a worker that loads no model), `inference` (the encoders: embedding,
sentiment, aspects) and `generation` (the LLM for copy and summaries, with the embedder its checks use).
A worker loads only the models of the queues it takes (`QUEUE_ROLES`, applied at its start); a worker
started without `-Q` takes every queue and may load every model.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup
from kombu import Queue

from core.logs import connect_celery_signals
from inference import registry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")

DEFAULT_QUEUE = "default"
INFERENCE_QUEUE = "inference"
GENERATION_QUEUE = "generation"
QUEUE_ROLES: dict[str, frozenset[str]] = {
    DEFAULT_QUEUE: frozenset(),
    INFERENCE_QUEUE: registry.ENCODER_ROLES,
    GENERATION_QUEUE: registry.GENERATION_ROLES,
}

app = Celery("ecommarketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name) for name in QUEUE_ROLES)
app.autodiscover_tasks()
connect_celery_signals()  # a task started from a request logs that request's id


def roles_for_queues(queues: list[str] | None) -> frozenset[str] | None:
    """The model roles a worker taking `queues` serves; None (any) for a worker on every queue or on a
    queue this project does not know (an operator's own routing keeps working)."""
    if not queues or any(queue not in QUEUE_ROLES for queue in queues):
        return None
    return frozenset().union(*(QUEUE_ROLES[queue] for queue in queues))


@celeryd_after_setup.connect
def _serve_only_the_queues_roles(sender: str, instance: Any, **kwargs: Any) -> None:
    """Before the pool starts (prefork children inherit it): restrict the registry to the queues' roles."""
    consuming = instance.app.amqp.queues.consume_from
    registry.serve_only(roles_for_queues(sorted(consuming) if consuming else None))
