"""Public routes of campaigns (under /brand/)."""

from django.urls import path

from .views import brand_logo

urlpatterns = [path("logo/<str:name>", brand_logo, name="brand-logo")]
