from django.urls import path

from .views import unsubscribe

urlpatterns = [path("<str:token>/", unsubscribe, name="unsubscribe")]
