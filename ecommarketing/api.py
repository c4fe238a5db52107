"""The REST API router: every app's viewsets, under /api/v1/."""

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from assistant.api import ConversationMessageViewSet, ConversationViewSet
from assistant.knowledge_api import ArticleViewSet, ProductQuestionViewSet
from campaigns.api.views import CampaignViewSet, VariantViewSet
from catalog.api import ProductViewSet, ReviewViewSet
from catalog.models import Product
from core.key_routes import key_route
from customers.api import EventViewSet, SegmentViewSet
from customers.models import Customer
from jobs.api import JobViewSet
from privacy.api import CustomerViewSet  # customers' viewset with export and erasure
from recommendations.api import CustomerRecommendationsViewSet, SimilarProductsViewSet

router = DefaultRouter()
router.register("products", ProductViewSet)
router.register("reviews", ReviewViewSet)
router.register("customers", CustomerViewSet)
router.register("events", EventViewSet)
router.register("segments", SegmentViewSet)
router.register("campaigns", CampaignViewSet)
router.register("jobs", JobViewSet)
router.register("product-questions", ProductQuestionViewSet)
router.register("articles", ArticleViewSet)
router.register(r"campaigns/(?P<campaign_pk>[^/.]+)/variants", VariantViewSet, basename="campaign-variants")
router.register(
    r"customers/(?P<customer_pk>[^/.]+)/recommendations", CustomerRecommendationsViewSet,
    basename="customer-recommendations",
)
router.register(r"products/(?P<product_pk>[^/.]+)/similar", SimilarProductsViewSet, basename="product-similar")
router.register("assistant/conversations", ConversationViewSet, basename="assistant-conversation")
router.register(
    r"assistant/conversations/(?P<conversation_pk>[^/.]+)/messages", ConversationMessageViewSet,
    basename="assistant-conversation-messages",
)

# Objects by the shop's key, answering what the pk routes answer (core/key_routes.py); included before the
# router, whose `products/{pk}/insight/` would otherwise read `by-sku` as a pk.
key_routes = [
    re_path(r"^products/by-sku/(?P<rest>[\s\S]*)$", key_route("product", Product, "sku", "product"),
            name="product-by-sku"),
    re_path(r"^customers/by-external-id/(?P<rest>[\s\S]*)$",
            key_route("customer", Customer, "external_id", "customer"), name="customer-by-external-id"),
]
