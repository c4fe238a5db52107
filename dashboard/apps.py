from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from django.contrib import admin

        # the admin home shows the dashboard above the app list (dashboard/templates/admin/dashboard_index.html)
        admin.site.index_template = "admin/dashboard_index.html"
