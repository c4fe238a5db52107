from django.apps import AppConfig


class AssistantConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assistant"
    verbose_name = "Customer-service assistant"

    def ready(self) -> None:
        from . import triggers  # an app's ready() imports its signal handlers (models are loaded by now)

        triggers.connect()
