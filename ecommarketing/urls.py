from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .api import key_routes, router
from .health import healthz, readyz
from .metrics import metrics

handler500 = "ecommarketing.unavailable.server_error"  # the database down: 503, not a 500

admin.site.site_header = "ecommarketing"
admin.site.site_title = "ecommarketing"
admin.site.index_title = "Marketing workspace"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(key_routes)),
    path("api/v1/", include(router.urls)),
    path("assistant/", include("assistant.urls")),
    path("unsubscribe/", include("customers.urls")),
    path("brand/", include("campaigns.urls")),
    path("api/auth/", include("rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "ecommarketing.errors.not_found"
