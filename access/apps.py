from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "API access"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (permission changes and login lockouts go to the audit log)
