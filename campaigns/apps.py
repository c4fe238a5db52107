from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from .roles import sync_role_groups  # imports models, which only exist once apps are ready

        post_migrate.connect(sync_role_groups, sender=self, dispatch_uid="campaigns.sync_role_groups")
