"""The REST API router: every app's viewsets, under /api/v1/."""

from rest_framework.routers import DefaultRouter

from campaigns.api import CampaignViewSet
from catalog.api import ProductViewSet, ReviewViewSet
from customers.api import CustomerViewSet, EventViewSet
from jobs.api import JobViewSet

router = DefaultRouter()
router.register("products", ProductViewSet)
router.register("reviews", ReviewViewSet)
router.register("customers", CustomerViewSet)
router.register("events", EventViewSet)
router.register("campaigns", CampaignViewSet)
router.register("jobs", JobViewSet)
