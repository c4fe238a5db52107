"""ecommarketing: the Django project (settings, urls, Celery app, API router, embedded services)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
