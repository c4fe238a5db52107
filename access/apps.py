from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "API access"

    def ready(self) -> None:
        from . import schema, signals  # noqa: F401  (the OpenAPI token scheme; the audit of permission changes)
