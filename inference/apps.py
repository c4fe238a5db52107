from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """An app only so that `manage.py prepare_models` exists; it has no models."""

    name = "inference"
    verbose_name = "Model runtime"
