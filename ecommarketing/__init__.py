"""ecommarketing: the Django project (settings, urls, Celery app, API router, embedded services)."""

import os

# Every entry point (manage.py, Celery, pytest, benchmarks) imports this package before torch. OpenMP threads
# that spin while waiting steal the only other core from the web server, the database and each other on a
# small shared machine (training steps measured 5-20x slower); passive waiting costs little when alone.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .celery import app as celery_app

__all__ = ["celery_app"]
