"""The Celery application. Tasks live in each app's tasks.py; job execution is in jobs/tasks.py."""

import os

from celery import Celery
from kombu import Queue

from core.logs import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")

app = Celery("ecommarketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
# `default` for database work, `inference` for model work (GPU machines: concurrency 1 per GPU).
app.conf.task_queues = (Queue("default"), Queue("inference"))
app.autodiscover_tasks()
connect_celery_signals()  # a task started from a request logs that request's id
