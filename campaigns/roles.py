"""The two built-in roles, as Django groups with model permissions.

"campaign manager" may view, add, change and delete every project model; "analyst" may only view.
Permissions are re-synced after every migrate so models added later join the roles automatically.
"""

from __future__ import annotations

from typing import Any

PROJECT_APPS = ("jobs", "audit", "catalog", "customers", "campaigns", "ingest", "assistant")
CAMPAIGN_MANAGER = "campaign manager"
ANALYST = "analyst"


def sync_role_groups(apps: Any = None, **_: Any) -> None:
    """Create the groups and grant their permissions; idempotent. `apps` may be a migration state."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    for app_config in global_apps.get_app_configs():
        if app_config.label in PROJECT_APPS:
            create_permissions(app_config, verbosity=0)
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    project_perms = permission_model.objects.filter(content_type__app_label__in=PROJECT_APPS)
    manager, _ = group_model.objects.get_or_create(name=CAMPAIGN_MANAGER)
    analyst, _ = group_model.objects.get_or_create(name=ANALYST)
    manager.permissions.add(*project_perms)
    analyst.permissions.add(*project_perms.filter(codename__startswith="view_"))
