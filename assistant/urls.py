"""Pages of the assistant outside the API: the demo storefront."""

from django.urls import path

from . import views

app_name = "assistant"
urlpatterns = [path("demo/", views.demo_storefront, name="demo")]
