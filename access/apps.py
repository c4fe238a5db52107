from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "API access"

    def ready(self) -> None:
        # the OpenAPI token scheme; the audit of permission changes; failed sign-ins counted per address
        from . import backends, schema, signals  # noqa: F401
